/**
 * Task `cleanup.remove` (one schedule per instrument with `cleanup.enabled`): frees an instrument's
 * disk when its free space is below `min_free_space_gb`, by deleting the oldest instrument copies
 * older than `min_file_age_days` — and only after re-reading BOTH the instrument copy and the backup
 * and matching them against the hashes recorded at backup. A mismatch on either side keeps the file
 * and is raised on the file's timeline (a corrupt backup is marked `corrupt`).
 *
 * The backup is re-read FROM STORAGE (O_DIRECT, backup/storage-read.ts), not from the page cache that
 * may still hold what was just written; the re-read is recorded as a fixity check of the copy
 * (backup/fixity.ts) and the removal note says how it was read. Where the backup's filesystem refuses
 * O_DIRECT, the read goes through the cache, and with `cleanup.require_storage_read` (default true)
 * the copy is kept and the timeline says why. A copy marked `corrupt` meanwhile (by a fixity audit)
 * stops the deletion: its state is checked again after the verification, just before the deletion
 * begins.
 *
 * Refused outside the `production` environment unless `cleanup.allow_outside_production` is true,
 * and always on a fallback instance (`instance.mode: fallback`, src/core/instance.ts).
 * With the variable `cleanup_dry_run` (default true) it only records what it would delete.
 *
 * Before it verifies and deletes an instrument copy, the remover moves it into a hidden folder next to
 * it (`Place`): what it deletes is exactly what it verified there, and nothing that writes by name (the
 * instrument re-using the name, software adding results to a `.d` folder) can reach it meanwhile.
 * A copy whose sizes differ in place is refused without being moved. A read-only share or missing
 * permissions are recorded on the file; they stop the pass when they repeat.
 *
 * Crash points (`removeCopy`): the file is marked `removing` with its hidden path before anything is
 * moved; the next pass takes it up where it stopped (`finishUnfinished`), and scans leave the name
 * alone meanwhile. A kill before the deletion began leaves a copy that is verified again (and moved
 * back if it does not verify); after it began (the hidden folder holds a mark), the deletion is
 * finished once the backup verifies again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describeRead, recordCheck } from '../backup/fixity.ts';
import { errnoCode, exists, fsyncDir, isMissing, removeTree } from '../backup/fsutil.ts';
import { sourceRoot } from '../backup/manifest.ts';
import type { StorageReadOptions } from '../backup/storage-read.ts';
import { checkBackupTarget, recordTargetState } from '../backup/target.ts';
import { DestinationExists, renameNoReplace } from '../backup/temp.ts';
import { type VerifyResult, verifyCopy } from '../backup/verify.ts';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Db, Queryable } from '../core/db/db.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import type { Logger } from '../core/log.ts';
import { pathToText } from '../core/names.ts';
import { mkdir, rename, rmdir, writeFile } from '../core/text-fs.ts';
import type { Variables } from '../core/variables.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { BACKED_UP, note } from '../files/lifecycle.ts';
import type { FileRow } from '../files/repo.ts';
import { BACKUP_FOLDER } from '../intake/instrument-types.ts';
import { freeSpace } from '../intake/scan.ts';
import { sourceSpec } from '../storage/raw-data.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';

const ACTOR = 'remover';
const GB = 1024 ** 3;

export interface RemoverDeps {
  config: Config;
  vars: Variables;
  /** How the backup is opened for a read from storage (default O_DIRECT; tests stand in a refusal). */
  openDirect?: StorageReadOptions['openDirect'];
}

export function removerSchedules(config: Config): ScheduleSpec[] {
  if (isFallback(config)) return []; // and `sluice start` removes the schedules of an earlier run
  return Object.entries(config.instruments)
    .filter(([, inst]) => inst.cleanup.enabled)
    .map(([id, inst]) =>
      scheduleOf(Kind.cleanupRemove, {
        name: `remove:${id}`,
        payload: { instrument: id },
        tags: inst.tags,
        intervalMs: 15 * 60_000,
      }),
    );
}

export interface RemoverReport {
  instrument: string;
  enabled: boolean;
  reason?: string;
  dryRun: boolean;
  freeBefore?: number;
  freeAfter?: number;
  /** The free space the remover aims for (min_free_space_gb, the instrument's or the variable). */
  minFreeGb?: number;
  removed: string[];
  wouldRemove: string[];
  refused: { id: string; problems: string[] }[];
}

type Candidate = FileRow & { copy_location: string; copy_manifest: FileRow['manifest']; copy_id: string };

/** A file the remover is about to verify (for progress output), `index` of `count` candidates. */
export interface RemoverCandidate {
  id: string;
  bytes: number;
  path: string;
  index: number;
  count: number;
}

/**
 * One remover pass over an instrument (the `cleanup.remove` task). `dryRun` overrides the
 * `cleanup_dry_run` variable; `force` takes every candidate old enough, even when the free space is
 * enough (`sluice cleanup check --all`); `onCandidate` is told before each candidate is verified.
 */
export async function runRemover(
  db: Db,
  deps: RemoverDeps,
  id: string,
  log: Logger,
  opts: {
    dryRun?: boolean;
    force?: boolean;
    signal?: AbortSignal;
    onCandidate?: (c: RemoverCandidate) => void;
  } = {},
): Promise<RemoverReport> {
  const inst: InstrumentConfig | undefined = deps.config.instruments[id];
  const dryRun = opts.dryRun ?? (await deps.vars.get('cleanup_dry_run'));
  const report: RemoverReport = {
    instrument: id,
    enabled: false,
    dryRun,
    removed: [],
    wouldRemove: [],
    refused: [],
  };
  if (!inst) return { ...report, reason: `no instrument '${id}' in the config` };
  if (isFallback(deps.config)) return { ...report, reason: FALLBACK_KEEPS_DATA };
  if (!inst.cleanup.enabled)
    return { ...report, reason: `cleanup is not enabled for ${id} (instruments.${id}.cleanup.enabled)` };
  if (deps.config.environment !== 'production' && !deps.config.cleanup.allow_outside_production) {
    return {
      ...report,
      reason: `environment is '${deps.config.environment}': removal runs only in production unless cleanup.allow_outside_production is true`,
    };
  }
  report.enabled = true;
  // Re-verifying "backups" on the wrong disk (an unmounted share's empty folder) would mark good
  // copies corrupt, or pass copies that are not on the share: nothing is touched (target.ts).
  const target = await checkBackupTarget(deps.config, db, { write: false });
  await recordTargetState(db, id, target.ok ? null : target.reason);
  if (!target.ok) {
    log.warn({ instrument: id, reason: target.reason }, 'remover pass skipped: backup target unavailable');
    return {
      ...report,
      reason: `nothing deleted: backup target unavailable: ${target.reason} — ${target.hint}`,
    };
  }
  await finishUnfinished(db, inst, id, report, log, {
    dryRun,
    signal: opts.signal,
    requireStorage: deps.config.cleanup.require_storage_read,
    openDirect: deps.openDirect,
  });
  const minFreeGb = inst.cleanup.min_free_space_gb ?? (await deps.vars.get('min_free_space_gb'));
  const minAgeDays = inst.cleanup.min_file_age_days ?? (await deps.vars.get('min_file_age_days'));
  let free = (await freeSpace(inst.watch)).freeBytes;
  report.freeBefore = free;
  report.minFreeGb = minFreeGb;
  if (free >= minFreeGb * GB && !opts.force) {
    report.freeAfter = free;
    report.reason = `free space ${(free / GB).toFixed(1)} GB ≥ min_free_space_gb ${minFreeGb}`;
    return report;
  }
  const candidates = await db.query<Candidate>(
    `select f.*, c.location as copy_location, c.manifest as copy_manifest, c.id as copy_id
     from files f join copies c on c.file_id = f.id and c.target = 'backup' and c.state = 'verified'
     where f.instrument_id = $1 and f.instrument_copy in ('present', 'moved') and f.status = any($2)
       and f.mtime < now() - $3 * interval '1 day' and f.manifest is not null and f.current_path is not null
     order by f.mtime asc, f.id limit 500`,
    [id, BACKED_UP, minAgeDays],
  );
  let permissionFailures = 0;
  const check: CheckOptions = {
    signal: opts.signal,
    requireStorage: deps.config.cleanup.require_storage_read,
    openDirect: deps.openDirect,
  };
  const handled = new Set([...report.removed, ...report.refused.map((x) => x.id)]); // finishUnfinished
  for (const [index, f] of candidates.entries()) {
    if ((free >= minFreeGb * GB && !opts.force) || opts.signal?.aborted) break;
    if (handled.has(f.id)) continue;
    opts.onCandidate?.({
      id: f.id,
      bytes: Number(f.size_bytes),
      path: f.current_path!,
      index,
      count: candidates.length,
    });
    const here = sourceRoot(sourceSpec(f));
    if (dryRun) {
      const [orig, backup] = await Promise.all([
        verifyCopy(here, f.kind, f.manifest!, { signal: opts.signal }),
        checkBackup(db, f, check),
      ]);
      if (!backup.ok) await refuseBackup(db, f, backup, report, log);
      else if (!orig.ok) await refuseDiffering(db, f, orig.problems, report);
      else {
        report.wouldRemove.push(f.id);
        free += Number(f.size_bytes);
      }
      continue;
    }
    try {
      if (await removeCopy(db, f, placeOf(f, inst.watch), report, log, check)) {
        free = (await freeSpace(inst.watch)).freeBytes;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const stop = await failed(db, f, err, report, log);
      if (stop === 'read-only' || (stop === 'permission' && ++permissionFailures >= 3)) {
        report.reason = `stopped: the instrument folder ${inst.watch} refuses changes (${errnoCode(err) ?? 'error'}); the remover needs write access there`;
        break;
      }
    }
  }
  report.freeAfter = free;
  return report;
}

/**
 * Where an instrument copy is while the remover works on it. Before it verifies and deletes a copy,
 * the remover moves it into a hidden folder next to it (`.sluice-removing-<hash of the id>`), out of
 * reach of anything that writes by name: the instrument re-using the name, or software adding results
 * to a `.d` folder. What is deleted is exactly what was verified there; new data under the old name
 * is left alone and recorded by the scan.
 */
export interface Place {
  /** Where the main entry is outside the hidden folder. */
  original: string;
  /** Where it is inside the hidden folder. */
  quarantined: string;
  /** The hidden folder. */
  dir: string;
  /** The names moved: the main entry and, for a file set, its companions. */
  names: string[];
  /** The instrument copy's state to go back to when the copy is kept. */
  before: 'present' | 'moved';
}

export const QUARANTINE_PREFIX = '.sluice-removing-';
/** Written into the hidden folder once both copies verified, just before the deletion begins. */
export const DELETING_MARK = '.sluice-deleting';

function quarantineDir(original: string, id: string): string {
  const tag = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return path.join(path.dirname(original), QUARANTINE_PREFIX + tag);
}

export function placeOf(f: FileRow, watch: string): Place {
  const cur = f.current_path!;
  const inside = path.basename(path.dirname(cur)).startsWith(QUARANTINE_PREFIX);
  const original = inside ? path.join(path.dirname(path.dirname(cur)), path.basename(cur)) : cur;
  const dir = quarantineDir(original, f.id);
  const before =
    f.instrument_copy === 'present' || f.instrument_copy === 'moved'
      ? f.instrument_copy
      : path.dirname(original) === path.join(pathToText(watch), BACKUP_FOLDER)
        ? 'moved'
        : 'present';
  return {
    original,
    quarantined: path.join(dir, path.basename(original)),
    dir,
    names: [path.basename(original), ...(f.kind === 'files' ? f.companions : [])],
    before,
  };
}

type Row = FileRow & {
  copy_location: string | null;
  copy_manifest: FileRow['manifest'];
  copy_id: string | null;
};

interface CheckOptions {
  signal: AbortSignal | undefined;
  /** `cleanup.require_storage_read`: a read through the page cache is not enough to delete. */
  requireStorage: boolean;
  openDirect?: StorageReadOptions['openDirect'];
}

/**
 * The backup check before a deletion. Not ok: `damaged` (it does not match: marked `corrupt`), or
 * not proven (read only through the page cache, or marked corrupt by a fixity audit meanwhile).
 */
type BackupCheck =
  | { ok: true; how: string; read: VerifyResult['read'] }
  | { ok: false; problems: string[]; damaged: boolean };

/**
 * Re-read the backup from storage (O_DIRECT) against its recorded hashes, and record the re-read as
 * a fixity check of the copy. Then look at the copy's state again: a fixity audit that found it
 * damaged while this check ran stops the deletion (the window left is the time between this query
 * and the deletion's first step, milliseconds, and the audit read the same storage).
 */
async function checkBackup(db: Db, f: Row, opts: CheckOptions): Promise<BackupCheck> {
  if (!f.copy_location || !f.copy_manifest || !f.copy_id)
    return { ok: false, problems: ['no verified backup copy is recorded'], damaged: true };
  const started = Date.now();
  const r = await verifyCopy(f.copy_location, f.kind, f.copy_manifest, {
    signal: opts.signal,
    fromStorage: { openDirect: opts.openDirect },
  });
  const copyId = f.copy_id;
  await db.tx((tx) =>
    recordCheck(tx, {
      copyId,
      fileId: f.id,
      actor: ACTOR,
      ok: r.ok,
      read: r.read,
      bytes: r.ok ? Number(f.size_bytes) : 0,
      seconds: (Date.now() - started) / 1000,
      ...(r.ok ? {} : { problems: r.problems }),
    }),
  );
  if (!r.ok) return { ok: false, problems: r.problems, damaged: true };
  if (r.read === 'cached' && opts.requireStorage) {
    return {
      ok: false,
      damaged: false,
      problems: [
        `the backup at ${f.copy_location} matches, but it could be re-read only through the page cache (${r.fallback ?? 'O_DIRECT refused'}), not from storage; cleanup.require_storage_read is true`,
      ],
    };
  }
  const now = await db.maybeOne<{ state: string }>('select state from copies where id = $1', [f.copy_id]);
  if (now?.state !== 'verified') {
    return {
      ok: false,
      damaged: false,
      problems: [
        `the backup copy at ${f.copy_location} is ${now?.state ?? 'gone'} now (a fixity audit found it damaged)`,
      ],
    };
  }
  return { ok: true, how: describeRead(r), read: r.read };
}

/**
 * Remove one instrument copy (see `Place`). Returns true when it was removed, false when it was kept
 * (a problem recorded on the file). Throws for a file-system error (see `failed`).
 *
 * Crash points, each picked up by the next pass (`finishUnfinished`, which calls this again):
 * 1. `removing` is recorded first, with the hidden path: killed now, nothing moved yet.
 * 2. The entries are renamed into the hidden folder (those already there are left).
 * 3. Both copies are verified; a problem moves the entries back (never over new data with the
 *    same name: what cannot go back stays in the hidden folder, recorded there).
 * 4. The mark is written: from here on everything in the hidden folder was verified, so a pass that
 *    finds the mark only re-verifies the backup and finishes the deletion.
 * 5. Deleted, then recorded `purged`.
 */
async function removeCopy(
  db: Db,
  f: Row,
  place: Place,
  report: RemoverReport,
  log: Logger,
  check: CheckOptions,
  finishing = false,
): Promise<boolean> {
  const { signal } = check;
  const origDir = path.dirname(place.original);
  const marked = await exists(path.join(place.dir, DELETING_MARK));
  const moved = await Promise.all(place.names.map((n) => exists(path.join(place.dir, n))));
  if (!marked && !moved.some(Boolean)) {
    // Sizes first, in place: data that changed since its backup (a name re-used by a new
    // acquisition, perhaps still being written) is refused without being moved.
    const inPlace = sourceRoot(sourceSpec({ ...f, current_path: place.original }));
    const sizes = await verifyCopy(inPlace, f.kind, f.manifest!, { hashes: false });
    if (!sizes.ok) {
      await setInstrumentCopy(db, f.id, place.before, place.original);
      await refuseDiffering(db, f, sizes.problems, report);
      return false;
    }
  }
  await setInstrumentCopy(db, f.id, 'removing', place.quarantined);
  let backup: BackupCheck;
  if (marked) {
    backup = await checkBackup(db, f, check);
    if (!backup.ok) {
      await refuseBackup(db, f, backup, report, log, place.dir);
      return false;
    }
  } else {
    try {
      await mkdir(place.dir, { recursive: true });
      for (const [i, n] of place.names.entries()) {
        if (moved[i]) continue; // moved by an earlier attempt
        await rename(path.join(origDir, n), path.join(place.dir, n)).catch((err: unknown) => {
          if (!isMissing(err)) throw err; // a missing entry shows in the verification
        });
      }
    } catch (err) {
      await putBack(db, f, place, log).catch(() => {}); // or the next pass does
      throw err;
    }
    let orig: VerifyResult;
    [orig, backup] = await Promise.all([
      verifyCopy(sourceRoot(sourceSpec({ ...f, current_path: place.quarantined })), f.kind, f.manifest!, {
        signal,
      }),
      checkBackup(db, f, check),
    ]);
    if (!backup.ok || !orig.ok) {
      await putBack(db, f, place, log);
      if (!backup.ok) await refuseBackup(db, f, backup, report, log);
      else if (!orig.ok) await refuseDiffering(db, f, orig.problems, report);
      return false;
    }
    await writeFile(path.join(place.dir, DELETING_MARK), `${f.id}\n`);
    await fsyncDir(place.dir);
  }
  for (const n of place.names) await removeTree(path.join(place.dir, n));
  await removeTree(place.dir);
  await fsyncDir(origDir);
  const why = finishing
    ? `finished removing the instrument copy (${place.original}), cut short earlier, after re-verifying the backup at ${f.copy_location} (${backup.how})`
    : `removed from the instrument (${place.original}) after re-verifying it and the backup at ${f.copy_location} (${backup.how})`;
  await db.tx(async (tx) => {
    await setInstrumentCopy(tx, f.id, 'purged', null);
    await note(tx, f.id, ACTOR, why, { freedBytes: Number(f.size_bytes), backupRead: backup.read ?? null });
  });
  report.removed.push(f.id);
  log.info(
    { fileId: f.id, path: place.original },
    finishing ? 'finished an interrupted removal' : 'removed instrument copy',
  );
  return true;
}

/**
 * Move the entries back from the hidden folder, never over an entry that took the name meanwhile
 * (new data): such an entry's old content stays in the hidden folder, the record points there, and
 * the timeline says so.
 */
async function putBack(db: Db, f: Row, place: Place, log: Logger): Promise<void> {
  const origDir = path.dirname(place.original);
  let kept = false;
  let back = false;
  for (const n of place.names) {
    const from = path.join(place.dir, n);
    if (!(await exists(from))) continue;
    back = true;
    try {
      await renameNoReplace(from, path.join(origDir, n));
    } catch (err) {
      if (!(err instanceof DestinationExists)) throw err;
      kept = true;
    }
  }
  // rmdir, not rm: nothing but the entries was ever in the folder, and nothing is deleted here
  if (!kept) await rmdir(place.dir).catch(() => {});
  if (back) await fsyncDir(origDir);
  const where = kept ? place.quarantined : place.original;
  await setInstrumentCopy(db, f.id, place.before, where);
  if (kept) {
    log.warn({ fileId: f.id, path: where }, 'instrument copy kept in the hidden folder: its name is taken');
    await db.tx((tx) =>
      note(
        tx,
        f.id,
        ACTOR,
        `kept in ${place.dir}: ${place.original} now holds other data (recorded by the scan as a new file), so this copy was not moved back`,
        { path: where },
      ),
    );
  }
}

/**
 * A file-system error while moving or deleting: recorded on the file (the copy stays where it is, the
 * next pass tries again). Returns what kind of error it was: a read-only file system or missing
 * permissions stop the pass when they repeat.
 */
async function failed(
  db: Db,
  f: Row,
  err: unknown,
  report: RemoverReport,
  log: Logger,
): Promise<'read-only' | 'permission' | 'other'> {
  const code = errnoCode(err);
  const kind =
    code === 'EROFS' ? 'read-only' : code === 'EACCES' || code === 'EPERM' ? 'permission' : 'other';
  const message = err instanceof Error ? err.message : String(err);
  const hint =
    kind === 'other'
      ? 'the next remover pass tries again'
      : 'the remover needs write access to the instrument folder (a read-only share cannot be cleaned up): give the Sluice user write access, or set cleanup.enabled: false for this instrument';
  report.refused.push({ id: f.id, problems: [message] });
  log.error({ fileId: f.id, err: message }, 'instrument copy not removed');
  await db.tx((tx) =>
    note(tx, f.id, ACTOR, `not removed from the instrument: ${message} — ${hint}`, {
      code: code ?? 'unknown',
    }),
  );
  return kind;
}

/** An instrument copy that is not what was backed up: kept, and the timeline says why. */
async function refuseDiffering(db: Db, f: Row, problems: string[], report: RemoverReport): Promise<void> {
  report.refused.push({ id: f.id, problems });
  await db.tx((tx) =>
    note(
      tx,
      f.id,
      ACTOR,
      `not removed: the instrument copy differs from the backed-up content: ${problems.slice(0, 3).join('; ')}`,
      { problems },
    ),
  );
}

/** A backup check that failed: damaged (`refuseBadBackup`), or not proven (kept, and noted why). */
async function refuseBackup(
  db: Db,
  f: Row,
  check: Extract<BackupCheck, { ok: false }>,
  report: RemoverReport,
  log: Logger,
  remnantIn?: string,
): Promise<void> {
  if (check.damaged) return refuseBadBackup(db, f, check.problems, report, log, remnantIn);
  report.refused.push({ id: f.id, problems: check.problems });
  log.warn(
    { fileId: f.id, problems: check.problems },
    'backup not proven from storage; instrument copy kept',
  );
  const kept = remnantIn ? `; what is left of the instrument copy stays in ${remnantIn}` : '';
  await db.tx((tx) =>
    note(tx, f.id, ACTOR, `not removed from the instrument: ${check.problems.join('; ')}${kept}`, {
      problems: check.problems,
    }),
  );
}

/**
 * A backup that no longer verifies: the file is refused, its copy marked `corrupt`, and both logged.
 * `remnantIn`: the deletion had begun, and what is left of the instrument copy is kept there.
 */
async function refuseBadBackup(
  db: Db,
  f: Row,
  problems: string[],
  report: RemoverReport,
  log: Logger,
  remnantIn?: string,
): Promise<void> {
  report.refused.push({ id: f.id, problems });
  const found = problems.slice(0, 3).join('; ');
  log.error(
    { fileId: f.id, problems },
    remnantIn
      ? 'an interrupted removal cannot be finished: the backup no longer verifies'
      : 'backup copy does not match its recorded hashes; instrument copy kept',
  );
  const text = remnantIn
    ? `a removal of the instrument copy was cut short, and the backup at ${f.copy_location ?? '(none)'} no longer verifies: ${found}. What is left of the instrument copy is kept in ${remnantIn}; copy it somewhere safe and check the backup storage`
    : `the backup at ${f.copy_location} no longer matches the hashes recorded when it was verified: ${found}. The instrument copy is kept; back it up again with \`sluice files retry ${f.id}\``;
  await db.tx(async (tx) => {
    if (f.copy_id) await tx.exec(`update copies set state = 'corrupt' where id = $1`, [f.copy_id]);
    await note(tx, f.id, ACTOR, text, { problems });
  });
}

/** Where the instrument copy is now (`at`; null when it is gone), in the file's record. */
async function setInstrumentCopy(
  q: Queryable,
  id: string,
  state: FileRow['instrument_copy'],
  at: string | null,
): Promise<void> {
  await q.exec('update files set instrument_copy = $2, current_path = $3, updated_at = now() where id = $1', [
    id,
    state,
    at,
  ]);
}

/**
 * Removals cut short (instrument copy `removing`): `removeCopy` again, which takes each up where it
 * stopped. A copy that does not verify (any more) is moved back and kept; one whose deletion had begun
 * is finished once the backup verifies again, and kept (loudly) when it does not.
 */
async function finishUnfinished(
  db: Db,
  inst: InstrumentConfig,
  id: string,
  report: RemoverReport,
  log: Logger,
  opts: CheckOptions & { dryRun: boolean },
): Promise<void> {
  const rows = await db.query<Row>(
    `select f.*, c.location as copy_location, c.manifest as copy_manifest, c.id as copy_id
     from files f left join copies c on c.file_id = f.id and c.target = 'backup' and c.state = 'verified'
     where f.instrument_id = $1 and f.instrument_copy = 'removing' and f.current_path is not null
     order by f.mtime`,
    [id],
  );
  for (const f of rows) {
    if (opts.signal?.aborted) return;
    if (opts.dryRun) {
      report.wouldRemove.push(f.id);
      continue;
    }
    try {
      await removeCopy(db, f, placeOf(f, inst.watch), report, log, opts, true);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      await failed(db, f, err, report, log);
    }
  }
}

export function removerHandler(deps: RemoverDeps): TaskHandlerDef {
  return defineHandler(Kind.cleanupRemove, {
    async run(ctx) {
      const r = await runRemover(ctx.db, deps, ctx.payload.instrument, ctx.log, {
        signal: ctx.signal,
      });
      if (r.removed.length || r.wouldRemove.length || r.refused.length) ctx.log.info(r, 'remover pass');
    },
  });
}
