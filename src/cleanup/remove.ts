/**
 * Task `cleanup.remove` (one schedule per instrument with `cleanup.enabled`): frees an instrument's
 * disk when its free space is below `min_free_space_gb`, by deleting the oldest instrument copies
 * older than `min_file_age_days` — and only after re-reading BOTH the instrument copy and the backup
 * and matching them against the hashes recorded at backup. A mismatch on either side keeps the file
 * and is raised on the file's timeline (a corrupt backup is marked `corrupt`).
 *
 * Refused outside the `production` environment unless `cleanup.allow_outside_production` is true,
 * and always on a fallback instance (`instance.mode: fallback`, src/core/instance.ts).
 * With the variable `cleanup_dry_run` (default true) it only records what it would delete.
 *
 * Crash points: a kill during verification leaves everything in place. Before deleting, the file is
 * marked `removing` (both copies verified); a kill during the deletion leaves a partly deleted
 * instrument copy in that state, which the next pass finishes once the backup verifies again
 * (`finishUnfinished`), and which scans leave alone (it is not a new acquisition).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { sourceSpec } from '../backup/backup-task.ts';
import { sourceRoot } from '../backup/manifest.ts';
import { verifyCopy } from '../backup/verify.ts';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import type { Logger } from '../core/log.ts';
import type { Variables } from '../core/variables.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { BACKED_UP, note } from '../files/lifecycle.ts';
import type { FileRow } from '../files/repo.ts';
import { freeSpace } from '../intake/scan.ts';

const ACTOR = 'remover';
const GB = 1024 ** 3;

export interface RemoverDeps {
  config: Config;
  vars: Variables;
}

export function removerSchedules(config: Config): ScheduleSpec[] {
  if (isFallback(config)) return []; // and `sluice start` removes the schedules of an earlier run
  return Object.entries(config.instruments)
    .filter(([, inst]) => inst.cleanup.enabled)
    .map(([id, inst]) => ({
      name: `remove:${id}`,
      kind: 'cleanup.remove',
      payload: { instrument: id },
      pool: 'cleanup',
      tags: inst.tags,
      intervalMs: 15 * 60_000,
    }));
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
  await finishUnfinished(db, id, report, log, { dryRun, signal: opts.signal });
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
  for (const [index, f] of candidates.entries()) {
    if ((free >= minFreeGb * GB && !opts.force) || opts.signal?.aborted) break;
    opts.onCandidate?.({
      id: f.id,
      bytes: Number(f.size_bytes),
      path: f.current_path!,
      index,
      count: candidates.length,
    });
    const original = sourceRoot(sourceSpec(f));
    const [orig, backup] = await Promise.all([
      verifyCopy(original, f.kind, f.manifest!, { signal: opts.signal }),
      verifyCopy(f.copy_location, f.kind, f.copy_manifest!, { signal: opts.signal }),
    ]);
    if (!backup.ok) {
      await refuseBadBackup(db, f, backup.problems, report, log, {
        log: 'backup copy does not match its recorded hashes; instrument copy kept',
        note: `the backup at ${f.copy_location} no longer matches the hashes recorded when it was verified: ${backup.problems.slice(0, 3).join('; ')}. The instrument copy is kept; back it up again with \`sluice files retry ${f.id}\``,
      });
      continue;
    }
    if (!orig.ok) {
      report.refused.push({ id: f.id, problems: orig.problems });
      await db.tx((tx) =>
        note(
          tx,
          f.id,
          ACTOR,
          `not removed: the instrument copy differs from the backed-up content: ${orig.problems.slice(0, 3).join('; ')}`,
          { problems: orig.problems },
        ),
      );
      continue;
    }
    if (dryRun) {
      report.wouldRemove.push(f.id);
      free += Number(f.size_bytes);
      continue;
    }
    // recorded first: a deletion cut short is finished by the next pass (finishUnfinished)
    await db.exec(`update files set instrument_copy = 'removing', updated_at = now() where id = $1`, [f.id]);
    await purge(
      db,
      f,
      `removed from the instrument (${f.current_path}) after re-verifying it and the backup at ${f.copy_location}`,
    );
    free = (await freeSpace(inst.watch)).freeBytes;
    report.removed.push(f.id);
    log.info({ fileId: f.id, path: f.current_path }, 'removed instrument copy');
  }
  report.freeAfter = free;
  return report;
}

/** A backup that no longer verifies: the file is refused, its copy marked `corrupt`, and both logged. */
async function refuseBadBackup(
  db: Db,
  f: FileRow & { copy_id: string | null },
  problems: string[],
  report: RemoverReport,
  log: Logger,
  text: { log: string; note: string },
): Promise<void> {
  report.refused.push({ id: f.id, problems });
  log.error({ fileId: f.id, problems }, text.log);
  await db.tx(async (tx) => {
    if (f.copy_id) await tx.exec(`update copies set state = 'corrupt' where id = $1`, [f.copy_id]);
    await note(tx, f.id, ACTOR, text.note, { problems });
  });
}

/** Delete the instrument copy and record it `purged`, with `why` on the file's timeline. */
async function purge(db: Db, f: FileRow, why: string): Promise<void> {
  for (const p of entries(f)) await rm(p, { recursive: true, force: true });
  await db.tx(async (tx) => {
    await tx.exec(
      `update files set instrument_copy = 'purged', current_path = null, updated_at = now() where id = $1`,
      [f.id],
    );
    await note(tx, f.id, ACTOR, why, { freedBytes: Number(f.size_bytes) });
  });
}

/**
 * Deletions cut short (instrument copy `removing`): both copies were verified before the deletion
 * began, so what is left of the instrument copy is removed once the backup verifies again. Its
 * remnant is not compared with anything: it is partly deleted by design. A backup that no longer
 * verifies stops it, loudly: part of the instrument copy is gone already.
 */
async function finishUnfinished(
  db: Db,
  id: string,
  report: RemoverReport,
  log: Logger,
  opts: { dryRun: boolean; signal?: AbortSignal },
): Promise<void> {
  const rows = await db.query<
    FileRow & { copy_location: string | null; copy_manifest: FileRow['manifest']; copy_id: string | null }
  >(
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
    const backup =
      f.copy_location && f.copy_manifest
        ? await verifyCopy(f.copy_location, f.kind, f.copy_manifest, { signal: opts.signal })
        : { ok: false, problems: ['no verified backup copy is recorded'] };
    if (!backup.ok) {
      await refuseBadBackup(db, f, backup.problems, report, log, {
        log: 'an interrupted removal cannot be finished: the backup no longer verifies',
        note: `a removal of the instrument copy was cut short, and the backup at ${f.copy_location ?? '(none)'} no longer verifies: ${backup.problems.slice(0, 3).join('; ')}. What is left at ${f.current_path} is kept; copy it somewhere safe and check the backup storage`,
      });
      continue;
    }
    await purge(
      db,
      f,
      `finished removing the instrument copy (${f.current_path}), cut short earlier, after re-verifying the backup at ${f.copy_location}`,
    );
    report.removed.push(f.id);
    log.info({ fileId: f.id, path: f.current_path }, 'finished an interrupted removal');
  }
}

function entries(f: FileRow): string[] {
  if (f.kind !== 'files') return [f.current_path!];
  const dir = path.dirname(f.current_path!);
  return [f.current_path!, ...f.companions.map((c) => path.join(dir, c))];
}

export function removerHandler(deps: RemoverDeps): TaskHandlerDef {
  return {
    kind: 'cleanup.remove',
    async run(ctx) {
      const r = await runRemover(ctx.db, deps, String(ctx.task.payload.instrument), ctx.log, {
        signal: ctx.signal,
      });
      if (r.removed.length || r.wouldRemove.length || r.refused.length) ctx.log.info(r, 'remover pass');
    },
  };
}
