/**
 * Temp names beside the destination, the leftover sweep, and `moveAside`; the no-overwrite commit
 * they end in (`commitFile`, `commitDir`, `renameNoReplace`) is storage/rename.ts.
 *
 * A copy is written to `<dir>/.<basename>.sluice-partial/<12 hex>` (a file or a directory tree), where
 * `<dir>` is the destination's directory (same filesystem, so the final step is a rename or link,
 * never a copy), and becomes visible under its final name only after it verified. The partial
 * directory belongs to that one destination, so its leftovers are found by path: no listing of the
 * destination's directory, which holds thousands of backups (a listing per copy made backing up a
 * folder of 10,000 files quadratic). It is removed again after the commit.
 *
 * Crash points:
 * - Killed while a temp exists: the temp stays in the partial directory. The next attempt for the same
 *   destination calls `removeLeftovers` first, which removes the whole `.<basename>.sluice-partial`
 *   (files or trees, read-only content included). This is how a kill -9 mid-copy recovers without a
 *   person.
 * - Killed inside `commitFile` between `link` and `unlink`: the destination is complete (it verified
 *   before the link) and the temp is a second name of the same inode; the sweep unlinks the temp and
 *   the next attempt finds the destination matching the source (`associated`).
 * - Killed after the commit, before `removePartialDir` was made durable: an empty (or, after a power
 *   loss, holding a second name of the copy) partial directory may stay. The caller fsyncs the parent
 *   after `removePartialDir` and before it reports success, so this can only happen while the task is
 *   still unfinished, and its next attempt sweeps it.
 * - Killed inside `moveAside`: it renames with the same no-overwrite commit, so the old copy has its
 *   old name, its new name, or (a file, between link and unlink) both; never neither. Run again, it
 *   finishes: the file is then moved aside under a second `-2` name beside the first, still intact.
 * Two workers on one destination (a stale lease) is prevented by the engine's fencing; if it happens
 * anyway the second sweep removes the first one's temp, whose copy then fails (its temp name is gone),
 * and neither commit can overwrite the other (see `commitFile` / `commitDir`).
 * Paths are text (core/names.ts): a destination named with bytes that are not UTF-8 gets temps
 * beside it under its own bytes; names derived from it are kept within 255 bytes (`fitName`).
 * Temps of the earlier layout (`.<basename>.sluice-partial-<12 hex>` files or folders directly beside
 * the destination) are not looked for.
 *
 * A batch of small files (batch-task.ts) writes its temps to one folder per destination folder
 * instead, `<dir>/.sluice-batch-<task id>.sluice-partial-batch/<12 hex>-<n>` (`batchPartialDir`): one
 * mkdir and one removal per batch rather than per file (measured: ~0.5 ms of system CPU per file on
 * ext4 for the per-file folder's mkdir and rmdir). Its name cannot be a per-file partial folder's
 * (those end in `.sluice-partial`) nor a backup's (hidden names are never scanned). It holds only
 * temps, so nothing in it is ever taken for a copy. Crash points: the same as above, found by the
 * batch's task id instead of the destination: every attempt of the batch removes its folders first
 * (`removeBatchPartialDir`, one `lstat` each when there is none), the batch removes them after its
 * copies and before it syncs the folders, and a batch that fails for good removes them while it
 * hands its files over.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { PermanentError } from '../core/errors.ts';
import { fitName, NAME_MAX } from '../core/names.ts';
import { lstat, mkdir, readdir, rmdir } from '../core/text-fs.ts';
import { errnoCode, exists, fsyncDir, isMissing, removeTree } from '../storage/fsutil.ts';
import { DestinationExists, renameNoReplace } from '../storage/rename.ts';

export const PARTIAL_MARK = '.sluice-partial';

/**
 * The directory holding the temps of `dest`: `.<basename>.sluice-partial` beside it. A basename too
 * long for that (more than 239 bytes) is shortened with a hash of the whole (`fitName`), so the name
 * stays within 255 bytes and still belongs to this one destination.
 */
export function partialDirFor(dest: string): string {
  const room = NAME_MAX - 1 - PARTIAL_MARK.length;
  return join(dirname(dest), `.${fitName(basename(dest), room)}${PARTIAL_MARK}`);
}

/** A new temp path for `dest`, inside its partial directory (see `makePartialDir`). */
export function tempNameFor(dest: string): string {
  return join(partialDirFor(dest), randomBytes(6).toString('hex'));
}

/** Create the partial directory of `dest` (owner-only) if it does not exist. */
export async function makePartialDir(dest: string): Promise<void> {
  await mkdir(partialDirFor(dest), { mode: 0o700 }).catch((err) => {
    if (errnoCode(err) !== 'EEXIST') throw err;
  });
}

/**
 * Remove the partial directory of `dest` if it is empty (after a commit, or after the temp of a
 * failed attempt was removed); one still holding another attempt's temp stays.
 */
export async function removePartialDir(dest: string): Promise<void> {
  await rmdir(partialDirFor(dest)).catch((err) => {
    const code = errnoCode(err);
    if (!isMissing(err) && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  });
}

const BATCH_PARTIAL_MARK = '.sluice-partial-batch';

/** The folder holding batch `batch`'s temps for destinations in `parent` (see the module comment). */
export function batchPartialDir(parent: string, batch: string): string {
  return join(parent, `.sluice-batch-${batch}${BATCH_PARTIAL_MARK}`);
}

/** A batch attempt's own prefix for its temps' names (`batchTempName`): 12 random hex digits. */
export function batchTempPrefix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * The temp path of the `n`th copy of a batch attempt (whose `prefix` is `batchTempPrefix`) in its
 * partial folder `dir`: `<prefix>-<n>`. Random per attempt, numbered within it: two attempts never
 * use the same name (a stale one still running, though the engine's fencing prevents that, cannot
 * have its temp taken for another's), and the batch makes one random name instead of one per file
 * (`randomBytes` cost ~50 µs of CPU per file in the intake bench's profile).
 */
export function batchTempName(dir: string, prefix: string, n: number): string {
  return join(dir, `${prefix}-${n}`);
}

/**
 * Remove a batch partial folder with any temps in it (the `batchPartialDir` path); something there
 * that is not a folder is left alone (it is not a batch's). Returns whether one was removed.
 */
export async function removeBatchPartialDir(dir: string): Promise<boolean> {
  try {
    if (!(await lstat(dir)).isDirectory()) return false;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
  await removeTree(dir);
  return true;
}

/** Paths of leftover temps of `dest` (from crashed or killed attempts). */
export async function findLeftovers(dest: string): Promise<string[]> {
  const dir = partialDirFor(dest);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  return names.map((n) => join(dir, n));
}

/**
 * Remove the leftover temps of `dest` with their partial directory; returns the temps removed. Costs
 * one `lstat` when there is none.
 */
export async function removeLeftovers(dest: string): Promise<string[]> {
  const dir = partialDirFor(dest);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const found = st.isDirectory() ? await findLeftovers(dest) : [dir];
  await removeTree(dir);
  await fsyncDir(dirname(dest));
  return found;
}

/**
 * Rename an existing backup at `dest` to `<dest>.replaced-<timestamp>` and return the new path (used by
 * `sluice backup accept-overwrite` before copying again). The timestamp is ISO 8601 UTC with `:`
 * written as `-` so the name is valid on SMB shares too, e.g. `x.raw.replaced-2025-01-31T12-00-00.000Z`.
 * Never replaces anything: an existing name gets a `-2`, `-3`, ... suffix.
 */
export async function moveAside(dest: string, now: Date = new Date()): Promise<string> {
  try {
    await lstat(dest);
  } catch (err) {
    if (isMissing(err)) {
      throw new PermanentError(
        'backup.move_aside_missing',
        `cannot move aside ${dest}: it does not exist`,
        'nothing to keep; copy the file again normally',
      );
    }
    throw err;
  }
  const base = `${basename(dest)}.replaced-${now.toISOString().replaceAll(':', '-')}`;
  for (let i = 1; i < 1000; i++) {
    const target = join(dirname(dest), fitName(i === 1 ? base : `${base}-${i}`)); // within 255 bytes
    if (await exists(target)) continue;
    try {
      await renameNoReplace(dest, target);
    } catch (err) {
      if (err instanceof DestinationExists) continue;
      throw err;
    }
    await fsyncDir(dirname(dest));
    return target;
  }
  throw new PermanentError('backup.move_aside_failed', `cannot find a free name to move ${dest} aside`);
}
