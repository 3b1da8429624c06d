/**
 * Removing one instrument copy, crash-safely (see `removeCopy`): moved into its hidden folder
 * (place.ts), both copies verified there — the backup re-read from storage and recorded as a fixity
 * check — then deleted; and the removals cut short by a crash finished (`finishUnfinished`).
 */
import path from 'node:path';
import { describeRead, recordCheck } from '../backup/fixity.ts';
import { sourceRoot } from '../backup/manifest.ts';
import type { StorageReadOptions } from '../backup/storage-read.ts';
import { type VerifyResult, verifyCopy } from '../backup/verify.ts';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import { mkdir, rename, rmdir, writeFile } from '../core/text-fs.ts';
import { copyState } from '../files/copies.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { type FileWithBackup, unfinishedRemovals } from '../files/removal.ts';
import { setInstrumentCopy } from '../files/repo.ts';
import { exists, fsyncDir, isMissing, removeTree } from '../storage/fsutil.ts';
import { sourceSpec } from '../storage/raw-data.ts';
import { DestinationExists, renameNoReplace } from '../storage/rename.ts';
import { DELETING_MARK, type Place, placeOf } from './place.ts';
import { failed, refuseBackup, refuseDiffering } from './refusals.ts';
import type { RemoverReport } from './remove.ts';
import { checkRequiredTargets } from './required-targets.ts';

const ACTOR = 'remover';

export type Row = FileWithBackup;

export interface CheckOptions {
  signal: AbortSignal | undefined;
  /** `cleanup.require_storage_read`: a read through the page cache is not enough to delete. */
  requireStorage: boolean;
  openDirect?: StorageReadOptions['openDirect'];
  /** `cleanup.require` and the targets, for the other targets' copies (required-targets.ts). */
  config?: Config;
}

/**
 * The backup check before a deletion. Not ok: `damaged` (it does not match: marked `corrupt`), or
 * not proven (read only through the page cache, or marked corrupt by a fixity audit meanwhile).
 */
export type BackupCheck =
  | { ok: true; how: string; read: VerifyResult['read'] }
  | { ok: false; problems: string[]; damaged: boolean };

/**
 * Re-read the backup from storage (O_DIRECT) against its recorded hashes, and record the re-read as
 * a fixity check of the copy. Then look at the copy's state again: a fixity audit that found it
 * damaged while this check ran stops the deletion (the window left is the time between this query
 * and the deletion's first step, milliseconds, and the audit read the same storage).
 */
export async function checkBackup(db: Db, f: Row, opts: CheckOptions): Promise<BackupCheck> {
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
  const now = await copyState(db, f.copy_id);
  if (now !== 'verified') {
    return {
      ok: false,
      damaged: false,
      problems: [
        `the backup copy at ${f.copy_location} is ${now ?? 'gone'} now (a fixity audit found it damaged)`,
      ],
    };
  }
  const others = opts.config ? await checkRequiredTargets(db, opts.config, f.id, opts.signal) : [];
  const missing = others.filter((t) => !t.ok).map((t) => t.problem ?? t.target);
  if (missing.length) return { ok: false, damaged: false, problems: missing };
  const also = others.length ? `; verified from ${others.map((t) => t.target).join(', ')} too` : '';
  return { ok: true, how: `${describeRead(r)}${also}`, read: r.read };
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
export async function removeCopy(
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
  await deleteVerified(db, f, place, backup, report, log, finishing);
  return true;
}

/**
 * Step 5 of `removeCopy`: delete what the hidden folder holds (all of it verified), then record
 * the copy `purged`, with how the backup was read on the file's timeline.
 */
async function deleteVerified(
  db: Db,
  f: Row,
  place: Place,
  backup: Extract<BackupCheck, { ok: true }>,
  report: RemoverReport,
  log: Logger,
  finishing: boolean,
): Promise<void> {
  const origDir = path.dirname(place.original);
  for (const n of place.names) await removeTree(path.join(place.dir, n));
  await removeTree(place.dir);
  await fsyncDir(origDir);
  const why = finishing
    ? `finished removing the instrument copy (${place.original}), cut short earlier, after re-verifying the backup at ${f.copy_location} (${backup.how})`
    : `removed from the instrument (${place.original}) after re-verifying it and the backup at ${f.copy_location} (${backup.how})`;
  await db.tx(async (tx) => {
    await setInstrumentCopy(tx, f.id, 'purged', null);
    await addToTimeline(tx, f.id, ACTOR, why, {
      freedBytes: Number(f.size_bytes),
      backupRead: backup.read ?? null,
    });
  });
  report.removed.push(f.id);
  log.info(
    { fileId: f.id, path: place.original },
    finishing ? 'finished an interrupted removal' : 'removed instrument copy',
  );
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
      addToTimeline(
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
 * Removals cut short (instrument copy `removing`): `removeCopy` again, which takes each up where it
 * stopped. A copy that does not verify (any more) is moved back and kept; one whose deletion had begun
 * is finished once the backup verifies again, and kept (loudly) when it does not.
 */
export async function finishUnfinished(
  db: Db,
  inst: InstrumentConfig,
  id: string,
  report: RemoverReport,
  log: Logger,
  opts: CheckOptions & { dryRun: boolean },
): Promise<void> {
  const rows = await unfinishedRemovals(db, id);
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
