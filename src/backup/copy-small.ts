/**
 * A single small file's verified copy in two calls on a small-file thread the caller owns (a batch of
 * small files, batch-task.ts): copy.ts's steps 0–7 for kind `file`, with every file-system call of
 * them made synchronously on that thread instead of ~17 hand-offs through libuv's pool and two thread
 * messages per file. Measured in bench/intake.ts those hand-offs (lstat, mkdir, statfs, link, unlink,
 * rmdir, each with its promise and, for a missing path, its error object) were most of the main
 * thread's CPU per file.
 *
 * The same checks, the same order where it matters:
 *  - the thread's `whole` call (small-files.ts `copyWhole`): anything at `dest` (an identical copy to
 *    associate, the source itself, a different file) or a leftover partial folder, a source that is
 *    not a regular file, too little free space → `undefined` before anything is written, and the
 *    caller takes copy.ts's general path, which decides as it always did; else dest's parent created
 *    (fsynced), the source copied to the temp with both digests of the same bytes, fsync, the source
 *    re-stat'ed, the temp read back through a new descriptor after that fsync and `lstat`-ed;
 *  - here: `accept` of the listing and comparison with `expected`, the source unchanged (size and
 *    mtime, read whole, still a regular file), the read-back's size and checksum equal to the
 *    source's, the temp a regular file of the source's size (the member check), `accept` of the
 *    manifest, `beforeCommit`, the abort signal — any failure throws, and the caller removes the temp;
 *    with a `commitGuard` (batch-task.ts) the target's usual state (its marker naming this instance,
 *    mounted if required) is checked on the thread right before the link instead, and `beforeCommit`
 *    (target.ts's full check: 4 hand-offs for the marker's read) runs only when that check fails;
 *  - the thread's `commit` call: link to `dest` (never replacing: something there now →
 *    `DestinationExists`, the caller associates), unlink the temp, remove the partial folder; then
 *    dest's parent fsynced, or handed to `deferParentSync`.
 * The only difference: `accept` sees the listing after the copy, not before it; a refused source
 * leaves only the temp, which is removed, as for a refused manifest.
 *
 * Crash points: those of copy.ts (everything before the link is below the partial folder, swept by
 * the next attempt; after the link `dest` is complete and verified and is associated next time).
 * With `batchTemps` (a batch, batch-task.ts) the temp is in the batch's folder instead of the file's
 * own (temp.ts `batchPartialDir`), which the batch sweeps; the file's own leftover folder is still
 * looked for (the general path sweeps it).
 */
import { basename } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { fsPath } from '../core/names.ts';
import { fsyncDir, sourceError, targetError, throwIfAborted } from '../storage/fsutil.ts';
import { commitFile, DestinationExists } from '../storage/rename.ts';
import { compareEntries, sourceChanged } from './compare.ts';
import { checkUnchanged } from './copy-tree.ts';
import { FAST_ALGORITHM, type FastChecksum } from './fastsum.ts';
import { sameHash } from './hash.ts';
import { type Manifest, type ManifestEntry, makeManifest, type SourceSpec } from './manifest.ts';
import type { SmallFileCopier, TargetGuard, WholeCopy } from './small-files.ts';
import { batchTempName, partialDirFor, removePartialDir, tempNameFor } from './temp.ts';

/** What copy.ts's `copyVerified` gives the small-file path (its options, resolved). */
export interface SmallFileJob {
  source: Extract<SourceSpec, { kind: 'file' }>;
  dest: string;
  parent: string;
  label: string;
  what: string;
  algorithm: string;
  /** The fast read-back checksum; absent: read back with `algorithm`. */
  fast?: FastChecksum;
  copier: SmallFileCopier;
  expected?: Manifest;
  checkSpace: boolean;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  accept?: (files: ManifestEntry[], when: 'listed' | 'copied') => void;
  beforeCommit?: () => Promise<void>;
  /**
   * Checked on the thread right before the link instead of `beforeCommit`, which is called only when
   * it fails (and then decides: throws, or lets the commit go on).
   */
  commitGuard?: TargetGuard;
  deferParentSync?: (parent: string) => void;
  /** A batch's temp folders (batch-task.ts), used instead of the file's own partial folder. */
  batchTemps?: BatchTemps;
}

/**
 * Where a batch of small files writes its temps (temp.ts `batchPartialDir`): one folder per
 * destination folder, created by the first file that needs it and left in place for the next;
 * the batch removes every folder in `touched` after its copies.
 */
export interface BatchTemps {
  /** The batch's temp folder for destinations in `parent`. */
  dir(parent: string): string;
  /** Folders known to exist (a file's copy went past their creation). */
  made: Set<string>;
  /** Folders a copy may have created: the batch removes each after its copies. */
  touched: Set<string>;
  /** This attempt's prefix of its temps' names, and how many it named (temp.ts `batchTempName`). */
  prefix: string;
  named: number;
}

/** Read-only copies; keep execute bits (copy-tree.ts). */
const FILE_MODE = { set: 0o444, keep: 0o111 };

/**
 * The copy (see the module comment): its manifest and bytes, or `undefined` when nothing was written
 * and the general path must take it. Throws as copy.ts does; on a throw the temp may remain, and the
 * caller removes it and the partial folder (`temp` is told through `onTemp` first).
 */
export async function copySmallFile(
  j: SmallFileJob,
  onTemp: (temp: string) => void,
): Promise<{ manifest: Manifest; bytes: number } | undefined> {
  const partialDir = partialDirFor(j.dest);
  const tempDir = j.batchTemps ? j.batchTemps.dir(j.parent) : partialDir;
  const temp = j.batchTemps
    ? batchTempName(tempDir, j.batchTemps.prefix, j.batchTemps.named++)
    : tempNameFor(j.dest);
  // names that are not UTF-8 (core/names.ts) take the general path, which handles their bytes
  if ([j.dest, j.parent, partialDir, temp].some((p) => typeof fsPath(p) !== 'string')) return undefined;
  throwIfAborted(j.signal, j.what);
  const src = j.source.path;
  onTemp(temp);
  j.batchTemps?.touched.add(tempDir);
  const got = await j.copier
    .copyWhole({
      src,
      dest: j.dest,
      parent: j.parent,
      partialDir,
      tempDir,
      makeTempDir: !j.batchTemps?.made.has(tempDir),
      temp,
      algorithm: j.algorithm,
      fast: j.fast !== undefined,
      check: j.fast ? FAST_ALGORITHM : j.algorithm,
      space: j.checkSpace,
      mode: FILE_MODE,
    })
    .catch((err) => {
      throw (err as { side?: string }).side === 'source'
        ? sourceError(err, src)
        : targetError(err, temp, { dir: j.parent, bytesNeeded: 0 });
    });
  if (got.stop !== undefined) return undefined;
  j.batchTemps?.made.add(tempDir);
  const e: ManifestEntry = {
    rel: basename(src),
    size: got.listed.size,
    mtimeMs: got.listed.mtimeMs,
    hash: '',
  };
  j.accept?.([e], 'listed');
  if (j.expected) compareExpected(j, [e], 'since it was recorded');
  j.onProgress?.(got.bytes, e.size);
  checkCopied(j, got, e, temp);
  const manifest = makeManifest(j.algorithm, [{ ...e, hash: got.hash }]);
  if (j.expected) compareExpected(j, manifest.entries, 'since its checksums were recorded');
  j.accept?.(manifest.entries, 'copied');
  if (!j.commitGuard) await j.beforeCommit?.();
  throwIfAborted(j.signal, j.what);
  const ownDir = j.batchTemps ? undefined : partialDir; // a batch's folder is removed by the batch
  let c = await j.copier.commit({ temp, dest: j.dest, partialDir: ownDir, guard: j.commitGuard });
  if (c.guardFailed) {
    await j.beforeCommit?.(); // target.ts decides; it throws when the target is unavailable
    throwIfAborted(j.signal, j.what);
    c = await j.copier.commit({ temp, dest: j.dest, partialDir: ownDir });
  }
  if (c.exists) throw new DestinationExists(j.dest);
  if (c.linkFailed) {
    await commitFile(temp, j.dest); // a filesystem without hard links: rename.ts's other way
    await removePartialDir(j.dest).catch(() => {});
  }
  if (j.deferParentSync) j.deferParentSync(j.parent);
  else await fsyncDir(j.parent);
  return { manifest, bytes: e.size };
}

/**
 * What the thread found, checked: the source unchanged and read whole, the read-back equal to the
 * bytes read, the temp a regular file of their size (the member check). Throws otherwise.
 */
function checkCopied(
  j: SmallFileJob,
  got: Extract<WholeCopy, { listed: unknown }>,
  e: ManifestEntry,
  temp: string,
): void {
  const src = j.source.path;
  if (!got.afterFile)
    throw sourceChanged(j.label, [`${src}: no longer a regular file`], 'while it was being copied');
  checkUnchanged(j.label, e, got.bytes, got.after, src);
  const check = j.fast ? FAST_ALGORITHM : j.algorithm;
  const digest = j.fast ? got.fast : got.hash;
  if (got.back.size !== e.size || digest === undefined || !sameHash(got.back.hash, digest)) {
    const recorded = check === j.algorithm ? '' : ` (${j.algorithm} ${got.hash})`;
    throw new SluiceError(
      'backup.verify_failed',
      `read-back of the new copy ${j.dest} does not match the source ${src}: ` +
        `source ${e.size} bytes ${check} ${digest}${recorded}, copy ${got.back.size} bytes ${got.back.hash}`,
      {
        hint: `the partial copy was removed and the copy is retried automatically; if this repeats, check the backup target ${j.parent} for disk or filesystem errors`,
      },
    );
  }
  if (!got.temp.file || got.temp.size !== e.size) {
    throw new SluiceError(
      'backup.verify_failed',
      `the new copy of ${j.label} does not hold the source's files: ${temp}: ${got.temp.file ? `size differs (expected ${e.size} bytes, found ${got.temp.size})` : 'not a regular file'}`,
      { hint: 'the partial copy was removed and the copy is retried automatically' },
    );
  }
}

function compareExpected(j: SmallFileJob, entries: ManifestEntry[], why: string): void {
  const expected = j.expected?.entries ?? [];
  const p = compareEntries('file', expected, entries, { root: j.source.path, algorithm: j.algorithm });
  if (p.length > 0) throw sourceChanged(j.label, p, why);
}
