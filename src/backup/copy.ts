/**
 * `copyVerified`: the verified copy of one acquisition (a file, a folder, or a file with companions).
 *
 * Steps, and what a kill (or power loss) at each one leaves behind:
 * 0. Refuse a destination that is the source or inside it; create dest's parent (preflight.ts).
 * 1. Sweep leftover temps: remove `.<name>.sluice-partial/` next to `dest` (from earlier killed
 *    attempts), found by path, never by listing dest's directory (temp.ts). Killed here: some
 *    leftovers remain; the next attempt sweeps again.
 * 2. List the source (sizes, mtimes); compare with `expected` if given, and ask `accept`. Read-only.
 * 3. `dest` exists? Compare it with the source (existing.ts): same → `associated`, nothing written;
 *    different → PermanentError `backup.target_differs`. Read-only. `dest` is never overwritten.
 * 4. Write a temp (a file, or a directory tree) in `.<name>.sluice-partial/` beside dest, hashing
 *    the source in the same read pass (copy-file.ts), fsync each file (a folder's small files
 *    alongside its large ones, by worker threads when there are many: copy-tree.ts, small-files.ts).
 *    Each chunk read goes to two
 *    digests: the recorded one (sha256 by default, `manifest.algorithm`) and a fast 128-bit checksum
 *    (two seeded XXH3-64 streams, fastsum.ts) that only the read-back uses. Killed here: a partial
 *    temp remains, never a partial `dest`; step 1 of the next attempt removes it.
 * 5. Re-stat and re-list the source; any change in size, mtime or the set of files → retryable
 *    `backup.source_changed`. Compare the hashes with `expected`; ask `accept` about the manifest
 *    (after the read-back of step 6, before the commit: a refused copy never gets its final name).
 * 6. Read-back: a worker thread re-reads the temp through its own descriptor and computes the fast
 *    checksum of it, each window after an fdatasync covering it returned (readback.ts), so it overlaps
 *    the copy on a second core; the rest is read after the final fsync. Files below 8 MiB
 *    (READBACK_INLINE_MAX_BYTES) are re-read on the calling thread after their fsync instead (a new
 *    descriptor, opened by path): starting a worker costs far more than reading a small file; those
 *    copied by a small-file thread are re-read by that thread the same way. Size
 *    and checksum must equal those of the bytes read from the source, else `backup.verify_failed`.
 *    Why this is as strong as comparing sha256 digests: both digests of the source are computed from
 *    the same buffer, which is written to the temp and not reused before its write completed, so the
 *    recorded hash is of exactly the bytes the copy must equal. The read-back only has to prove
 *    copy == those bytes; a damaged copy passes only if its 128-bit checksum collides, ~2^-128 for
 *    errors that are not crafted (SHA-256 would add collision resistance against an adversary, who is
 *    not part of this threat model: the copy is made by us from the source we just read). The
 *    recorded sha256 stays the durable proof: `verifyCopy` (before the remover deletes anything) and
 *    `checkExisting` re-hash copies with it. Where the fast checksum binding cannot be loaded, or with
 *    `readBackChecksum: 'recorded'` / `SLUICE_READBACK_CHECKSUM=recorded`, the read-back hashes with
 *    the recorded algorithm instead (debug log), at about twice the CPU. Why bother: on a 2-core machine
 *    the second SHA-256 pass made the copy CPU-bound (~2× `cp && sync`).
 *    What is verified is what the filesystem returns; right after writing that is usually the page
 *    cache (Node cannot drop it), so it catches copy bugs, short writes and errors the filesystem
 *    reports, not silent media corruption; `verifyCopy` re-reads later.
 *    Then the temp is listed by its bytes (verify.ts without hashes): it must hold exactly the
 *    source's members (names compared as bytes, core/names.ts), their sizes and the same total, else
 *    `backup.verify_failed`. Read-only, like the read-back.
 * 7. fsync the temp's directories, give the temp its final name without replacing anything (link+unlink
 *    for a file, rename for a directory), remove the emptied partial directory, fsync the parent.
 *    Killed before the rename: as in 4. Killed after it: `dest` is complete and verified; the next
 *    attempt finds it and associates (step 3).
 * On any error the temp is removed before the error is thrown; `dest` is untouched.
 *
 * Copies are read-only (0o444, execute bits kept); directories stay owner-writable so a copy can be
 * removed or moved aside. File mtimes are kept; directory mtimes are not.
 */
import { dirname, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { PermanentError, SluiceError } from '../core/errors.ts';
import {
  abortedError,
  exists,
  fsyncDir,
  removeTree,
  targetError,
  throwIfAborted,
} from '../storage/fsutil.ts';
import { commitDir, commitFile, DestinationExists } from '../storage/rename.ts';
import { compareEntries, sourceChanged } from './compare.ts';
import { type BatchTemps, copySmallFile, type SmallFileJob } from './copy-small.ts';
import { writeTempTree } from './copy-tree.ts';
import { checkExisting } from './existing.ts';
import { type FastChecksum, fastChecksum, fastChecksumError } from './fastsum.ts';
import { allocBuffers, type Buffers, checkAlgorithm, releaseBuffers } from './hash.ts';
import {
  listSourceTree,
  type Manifest,
  type ManifestEntry,
  type SourceSpec,
  sourceLabel,
} from './manifest.ts';
import { checkFreeSpace, checkNotSource, ensureParent } from './preflight.ts';
import type { SmallFileCopier, TargetGuard } from './small-files.ts';
import { makePartialDir, removeLeftovers, removePartialDir, tempNameFor } from './temp.ts';
import { verifyCopy } from './verify.ts';

export type CopyPhase = 'copy' | 'verify' | 'commit';

export interface CopyOptions {
  source: SourceSpec;
  /** Final path: the file for kind `file`, the directory for `folder` and `files`. */
  dest: string;
  /** Hash algorithm; default `expected.algorithm`, else sha256. */
  algorithm?: string;
  /** Hashes recorded earlier (e.g. at discovery); the source must still match them. */
  expected?: Manifest;
  signal?: AbortSignal;
  /** Bytes of the source copied so far (copy pass only), and the total. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /**
   * Called when a phase starts, with the temp path (for logs; tests use it to inject faults):
   * `copy` before the first byte, `verify` after the copy pass and its fsyncs, when the read-back of
   * what was not yet verified (at least the last 64 MiB window of each file) begins, `commit` before
   * the rename.
   */
  onPhase?: (phase: CopyPhase, info: { temp: string; dest: string }) => void | Promise<void>;
  /** Check free space before copying (default true). ENOSPC while writing is handled either way. */
  checkSpace?: boolean;
  /**
   * Checksum of the read-back: `fast` (default) compares a fast 128-bit checksum of the copy with the
   * same checksum of the source bytes (fastsum.ts), falling back to the recorded algorithm where it is
   * unavailable; `recorded` reads back with the recorded algorithm. Default from the environment
   * variable `SLUICE_READBACK_CHECKSUM` (`fast` or `recorded`), else `fast`.
   */
  readBackChecksum?: 'fast' | 'recorded';
  /**
   * Is the source the data the caller means to copy? Called with the source's listing before anything
   * is written or an existing copy associated (`listed`), and with the manifest of the verified temp
   * before its commit (`copied`); throwing stops the copy (the temp is removed, `dest` untouched).
   * backup-task.ts checks the record's acquired fingerprint here.
   */
  accept?: (files: ManifestEntry[], when: 'listed' | 'copied') => void;
  /**
   * Last word before the commit, after `accept`: throwing stops the copy the same way (the temp is
   * removed, `dest` untouched). backup-task.ts checks here that the backup target is still the share
   * (an unmount during the copy makes `dest` a path on the local disk below the mount point).
   */
  beforeCommit?: () => Promise<void>;
  /**
   * With `smallCopier`, for a single file: the target's usual state checked on that thread right
   * before the commit, in place of `beforeCommit`, which then runs only when it fails (copy-small.ts).
   */
  commitGuard?: TargetGuard;
  /**
   * The fsync of dest's parent after the rename (step 7), left to the caller: called with the parent
   * instead. A batch of small files (batch-task.ts) syncs each folder once, before recording any of
   * them; until then a copy's new name is not durable and must not be recorded.
   */
  deferParentSync?: (parent: string) => void;
  /**
   * A small-file copy thread the caller owns (a batch of small files, batch-task.ts): a file of at
   * most 4 MiB is copied and read back on it with synchronous calls (copy-tree.ts `smallCopier`); a
   * single file (kind `file`, no `onPhase`) has all of its steps made there, in two calls
   * (copy-small.ts).
   */
  smallCopier?: SmallFileCopier;
  /**
   * With `smallCopier`, for a single file: a batch's temp folders (copy-small.ts `BatchTemps`, temp.ts
   * `batchPartialDir`), used instead of the file's own partial folder; the caller sweeps them.
   */
  batchTemps?: BatchTemps;
  /** Debug messages (e.g. the fast read-back checksum being unavailable). */
  log?: { debug: (obj: object, msg: string) => void };
}

export interface CopyResult {
  manifest: Manifest;
  /** Bytes written (0 when associated). */
  bytes: number;
  seconds: number;
  /** True when `dest` already held the same content and nothing was copied. */
  associated: boolean;
}

function pickAlgorithm(opts: CopyOptions): string {
  const alg = checkAlgorithm(opts.algorithm ?? opts.expected?.algorithm);
  if (opts.expected && checkAlgorithm(opts.expected.algorithm) !== alg) {
    throw new PermanentError(
      'backup.bad_hash',
      `the expected manifest uses ${opts.expected.algorithm} but ${alg} was asked for (copy to ${opts.dest})`,
      'copy with the algorithm the checksums were recorded with',
    );
  }
  return alg;
}

const debug = debuglog('sluice');

/** The fast read-back checksum to use, or undefined to read back with the recorded algorithm. */
function pickReadBack(opts: CopyOptions, algorithm: string): FastChecksum | undefined {
  const env = process.env.SLUICE_READBACK_CHECKSUM;
  const want = opts.readBackChecksum ?? (env === 'recorded' ? 'recorded' : 'fast');
  if (want === 'recorded') return undefined;
  const fast = fastChecksum();
  if (!fast) {
    const reason = fastChecksumError() ?? 'unavailable';
    const msg = `fast read-back checksum unavailable, reading back with ${algorithm}`;
    if (opts.log) opts.log.debug({ reason }, msg);
    else debug('%s: %s', msg, reason);
  }
  return fast;
}

export async function copyVerified(opts: CopyOptions): Promise<CopyResult> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const spec = opts.source;
  const dest = resolve(opts.dest);
  const parent = dirname(dest);
  const label = sourceLabel(spec);
  const what = `copy of ${label} to ${dest}`;
  const algorithm = pickAlgorithm(opts);
  throwIfAborted(opts.signal, what);
  if (opts.smallCopier && spec.kind === 'file' && !opts.onPhase) {
    const job = { source: spec, dest, parent, label, what, algorithm };
    const done = await copySmall(opts, opts.smallCopier, job);
    if (done) return { ...done, seconds: seconds(), associated: false };
  }

  await checkNotSource(spec, dest);
  try {
    await ensureParent(parent);
    await removeLeftovers(dest);
  } catch (err) {
    throw targetError(err, parent, { dir: parent, bytesNeeded: 0 });
  }
  const before = await listSourceTree(spec);
  opts.accept?.(before.files, 'listed');
  const bufs = allocBuffers(before.files.reduce((m, e) => Math.max(m, e.size), 0));
  const root = spec.kind === 'files' ? spec.dir : spec.path;
  if (opts.expected) {
    const p = compareEntries(spec.kind, opts.expected.entries, before.files, { root, algorithm });
    if (p.length > 0) throw sourceChanged(label, p, 'since it was recorded');
  }
  const associate = async () => {
    const manifest = await checkExisting({
      spec,
      dest,
      before: before.files,
      algorithm,
      expected: opts.expected,
      signal: opts.signal,
      bufs,
    });
    releaseBuffers(bufs); // after success only: every read of them settled (hash.ts)
    return { manifest, bytes: 0, seconds: seconds(), associated: true };
  };
  const present = await exists(dest).catch((err) => {
    throw targetError(err, dest, { dir: parent, bytesNeeded: 0 }); // e.g. a name too long for the target
  });
  if (present) return associate();

  const total = before.files.reduce((s, e) => s + e.size, 0);
  if (opts.checkSpace !== false) await checkFreeSpace(parent, total, before.files.length);
  const temp = tempNameFor(dest);
  try {
    const manifest = await copyAndCommit(opts, {
      spec,
      dest,
      temp,
      parent,
      label,
      what,
      root,
      before,
      algorithm,
      bufs,
      total,
    });
    releaseBuffers(bufs); // after success only: every read, write and hash of them settled (hash.ts)
    return { manifest, bytes: total, seconds: seconds(), associated: false };
  } catch (err) {
    await removeTree(temp).catch(() => {});
    await removePartialDir(dest).catch(() => {});
    if (err instanceof DestinationExists) return associate(); // someone else finished first
    throw normalize(err, { what, opts, dest, total });
  }
}

/**
 * copy-small.ts's path for a lone small file on the caller's thread: its copy, or undefined when
 * nothing was written and the general path decides (something at dest, leftovers, an odd source,
 * space, or a copy someone else finished first, which the general path associates).
 */
async function copySmall(
  opts: CopyOptions,
  copier: SmallFileCopier,
  j: Pick<SmallFileJob, 'source' | 'dest' | 'parent' | 'label' | 'what' | 'algorithm'>,
): Promise<{ manifest: Manifest; bytes: number } | undefined> {
  let temp: string | undefined;
  try {
    return await copySmallFile(
      {
        ...opts,
        ...j,
        fast: pickReadBack(opts, j.algorithm),
        copier,
        checkSpace: opts.checkSpace !== false,
      },
      (t) => (temp = t),
    );
  } catch (err) {
    if (temp !== undefined) await removeTree(temp).catch(() => {});
    await removePartialDir(j.dest).catch(() => {});
    if (err instanceof DestinationExists) return undefined;
    throw normalize(err, { what: j.what, opts, dest: j.dest, total: 0 });
  }
}

/** What `copyAndCommit` works with, as `copyVerified` found it. */
interface CommitPlan {
  spec: SourceSpec;
  dest: string;
  temp: string;
  parent: string;
  label: string;
  what: string;
  root: string;
  before: Awaited<ReturnType<typeof listSourceTree>>;
  algorithm: string;
  bufs: Buffers;
  total: number;
}

/**
 * The copy proper: the source written to the temp name, read back, its members checked (and against
 * `expected`), then renamed into place and made durable. The caller removes the temp on failure.
 */
async function copyAndCommit(opts: CopyOptions, plan: CommitPlan): Promise<Manifest> {
  const { spec, dest, temp, parent, label, what, root, before, algorithm, bufs, total } = plan;
  await makePartialDir(dest);
  await opts.onPhase?.('copy', { temp, dest });
  const manifest = await writeTempTree({
    spec,
    temp,
    dest,
    before,
    algorithm,
    fast: pickReadBack(opts, algorithm),
    bufs,
    signal: opts.signal,
    targetDir: parent,
    onProgress: (done) => opts.onProgress?.(done, total),
    onVerify: () => opts.onPhase?.('verify', { temp, dest }),
    smallCopier: opts.smallCopier,
  });
  await checkMembers(temp, spec.kind, manifest, label);
  if (opts.expected) {
    const p = compareEntries(spec.kind, opts.expected.entries, manifest.entries, { root, algorithm });
    if (p.length > 0) throw sourceChanged(label, p, 'since its checksums were recorded');
  }
  opts.accept?.(manifest.entries, 'copied');
  await opts.beforeCommit?.();
  throwIfAborted(opts.signal, what);
  await opts.onPhase?.('commit', { temp, dest });
  throwIfAborted(opts.signal, what);
  if (spec.kind === 'file') await commitFile(temp, dest);
  else await commitDir(temp, dest);
  // Committed: an error removing the (empty) partial directory must not fail the copy; the next
  // attempt would sweep it. The fsync makes the new name and the removal durable together.
  await removePartialDir(dest).catch(() => {});
  if (opts.deferParentSync) opts.deferParentSync(parent);
  else await fsyncDir(parent);
  return manifest;
}

/**
 * The temp copy, listed by its bytes, holds exactly the source's members with their sizes and the
 * same total (verify.ts without hashes: the read-back checked the content): a member the copy pass
 * did not write, or one it wrote that the source does not have, fails the copy.
 */
async function checkMembers(temp: string, kind: SourceSpec['kind'], manifest: Manifest, label: string) {
  const listed = await verifyCopy(temp, kind, manifest, { hashes: false });
  if (!listed.ok) {
    throw new SluiceError(
      'backup.verify_failed',
      `the new copy of ${label} does not hold the source's files: ${listed.problems.slice(0, 5).join('; ')}`,
      { hint: 'the partial copy was removed and the copy is retried automatically' },
    );
  }
}

function normalize(
  err: unknown,
  ctx: { what: string; opts: CopyOptions; dest: string; total: number },
): Error {
  const aborted = ctx.opts.signal?.aborted;
  if (err instanceof SluiceError && (err.code !== 'backup.aborted' || !aborted)) return err;
  if (aborted) return abortedError(ctx.what, ctx.opts.signal?.reason);
  // Anything not mapped yet happened on the target side (commit, fsync) or in a callback.
  return targetError(err, ctx.dest, { dir: dirname(ctx.dest), bytesNeeded: ctx.total });
}
