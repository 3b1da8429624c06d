/**
 * Write the temp copy of a whole source (file, folder tree, or companion set), check the source stayed
 * the same, read the temp back and compare (with the fast checksum when `fast` is given, see copy.ts
 * step 6), and make its directories durable. The manifest always holds the recorded algorithm's
 * digests of the source. The caller (copy.ts) gives it its final name and removes it on any error.
 *
 * Crash points: everything written here is below the temp path
 * (`.<name>.sluice-partial/<hex>`); a kill at any point leaves only that temp, which the next
 * attempt's leftover sweep removes. Temp directories are created 0o700 and stay owner-writable until
 * the end so removal always works; files get their final read-only mode before their fsync.
 */
import { join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { inLanes } from '../core/lanes.ts';
import { chmod, lstat, mkdir } from '../core/text-fs.ts';
import { fsyncDir, sourceError, targetError, throwIfAborted } from '../storage/fsutil.ts';
import { changedBetween, sourceChanged } from './compare.ts';
import { copyFileHashing, type ReadBackCheck } from './copy-file.ts';
import { FAST_ALGORITHM, type FastChecksum } from './fastsum.ts';
import { type Buffers, CHUNK_BYTES, sameHash } from './hash.ts';
import { HashThread } from './hash-thread.ts';
import {
  listSourceTree,
  type Manifest,
  type ManifestEntry,
  makeManifest,
  type SourceSpec,
  sourceLabel,
  sourcePath,
} from './manifest.ts';
import { ReadBack, type ReadBackFile } from './readback.ts';
import { type ModeRule, SMALL_THREAD_MIN_FILES, SmallFileCopier } from './small-files.ts';
import { acquireSourceReader, releaseSourceReader, type SourceReader } from './source-reader.ts';
import { isShared, PieceWriter, WRITER_MIN_BYTES } from './writer.ts';

export interface TempTreeOptions {
  spec: SourceSpec;
  temp: string;
  dest: string;
  before: { files: ManifestEntry[]; dirs: string[] };
  algorithm: string;
  /** Read back with this fast checksum (fastsum.ts); absent: with `algorithm`. */
  fast?: FastChecksum;
  bufs: Buffers;
  signal?: AbortSignal;
  targetDir: string;
  onProgress: (bytesDone: number) => void;
  /** Called after the copy pass, before the read-back. */
  onVerify: () => void | Promise<void>;
  /**
   * A small-file copy thread the caller owns and closes (a batch of small files, batch-task.ts): a
   * file of at most SMALL_FILE_BYTES is then copied and read back on it, two synchronous calls on
   * one thread instead of about twenty hand-offs through libuv's pool (see small-files.ts), even
   * when it is the only file. Its buffer must hold the largest such file plus one byte for one read.
   */
  smallCopier?: SmallFileCopier;
}

/** Read-only copies; keep execute bits. */
const FILE_MODE: ModeRule = { set: 0o444, keep: 0o111 };
const fileMode = (srcMode: number) => FILE_MODE.set | (srcMode & FILE_MODE.keep);
/** Directories stay owner-writable so the copy can later be removed or moved aside. */
const dirMode = (srcMode: number) => (srcMode & 0o777) | 0o700;

interface Ctx {
  o: TempTreeOptions;
  label: string;
  total: number;
  tp: (rel: string) => string;
  tErr: (err: unknown, p: string) => Error;
  srcStat: (p: string) => Promise<import('node:fs').Stats>;
}

export async function writeTempTree(o: TempTreeOptions): Promise<Manifest> {
  const { spec, temp } = o;
  const total = o.before.files.reduce((s, e) => s + e.size, 0);
  const c: Ctx = {
    o,
    label: sourceLabel(spec),
    total,
    tp: (rel) => (spec.kind === 'file' ? temp : join(temp, ...rel.split('/'))),
    tErr: (err, p) => targetError(err, p, { dir: o.targetDir, bytesNeeded: total }),
    srcStat: (p) =>
      lstat(p).catch((err) => {
        throw sourceError(err, p);
      }),
  };
  const plan = planBySize(o.before.files, o.smallCopier !== undefined);
  const h: Helpers = { readBack: new ReadBack(), writer: new PieceWriter(), reader: acquireSourceReader() };
  if (o.smallCopier && plan.small.length > 0) h.smallThread = o.smallCopier;
  if (plan.large.some((i) => o.before.files[i]!.size >= WRITER_MIN_BYTES) && o.bufs.every(isShared)) {
    h.hashThread = new HashThread();
    h.hashThread.warm(); // starts while the directories are made
  }
  if (!h.smallThread && plan.small.length >= SMALL_THREAD_MIN_FILES) {
    h.smallThread = new SmallFileCopier(plan.smallBuf, smallThreads(plan.small.length));
    h.smallThread.warm();
  }
  let manifest: Manifest;
  let dirModes: [string, number][] = [];
  try {
    dirModes = await makeDirs(c);
    const copied = await copyPass(c, plan, h);
    await o.onVerify();
    manifest = makeManifest(o.algorithm, await checkReadBack(c, copied));
  } finally {
    const ownSmall = h.smallThread === o.smallCopier ? undefined : h.smallThread; // the caller's stays open
    await Promise.all([h.readBack.close(), h.writer.close(), h.hashThread?.close(), ownSmall?.close()]);
    releaseSourceReader(h.reader); // every read settled: the copies above awaited them
  }
  // Final directory modes, then make every directory entry durable (deepest first).
  for (const [p, mode] of dirModes) await chmod(p, mode).catch((e) => Promise.reject(c.tErr(e, p)));
  for (const [p] of dirModes.sort((a, b) => b[0].length - a[0].length)) {
    await fsyncDir(p).catch((e) => Promise.reject(c.tErr(e, p)));
  }
  return manifest;
}

/** Create the temp directory tree (0o700 while we work); returns the final modes to apply at the end. */
async function makeDirs(c: Ctx): Promise<[string, number][]> {
  const { spec, temp } = c.o;
  const dirModes: [string, number][] = [];
  if (spec.kind === 'file') return dirModes;
  await mkdir(temp, { mode: 0o700 }).catch((e) => Promise.reject(c.tErr(e, temp)));
  for (const rel of c.o.before.dirs) {
    const mode = dirMode((await c.srcStat(sourcePath(spec, rel))).mode);
    await mkdir(c.tp(rel), { mode: 0o700 }).catch((e) => Promise.reject(c.tErr(e, c.tp(rel))));
    dirModes.push([c.tp(rel), mode]);
  }
  dirModes.push([temp, spec.kind === 'folder' ? dirMode((await c.srcStat(spec.path)).mode) : 0o755]);
  return dirModes;
}

type Copied = { entry: ManifestEntry; back: ReadBackFile; check: ReadBackCheck }[];

/**
 * Files up to this size are "small": they are copied alongside the larger files, which go one at a
 * time with the shared buffers (their cost is bytes, not calls). A Bruker-like folder (1 GiB + 50
 * files of 260 KiB) took ~0.05 s less here than with the small files after the large one. With at
 * least SMALL_THREAD_MIN_FILES of them they are copied by worker threads with synchronous calls
 * (small-files.ts: through the thread pool their calls cost three times the CPU, which the large
 * file's hashing on the same cores then waited for; see SMALL_FILES_PER_THREAD); fewer go through
 * the thread pool, SMALL_CONCURRENCY at a time, so their fsyncs overlap. The first failure on either
 * side stops the other.
 */
export const SMALL_FILE_BYTES = 4 * 1024 * 1024;
/** At most this many small files in flight through the pool: libuv's thread pool has 4 threads. */
const SMALL_CONCURRENCY = 4;
/**
 * At most this many small files asked of each copy thread at a time: enough that it never waits for
 * the main thread (busy hashing a chunk of the large file for a few ms), few enough that little is
 * copied after a failure elsewhere.
 */
const SMALL_THREAD_QUEUE = 8;
/**
 * One copy thread per this many small files, at most SMALL_THREADS_MAX: each thread's fsyncs come one
 * after another, and with many files those waits add up. Measured here (the best of 4 runs): a folder
 * of 1,000 files of 10 KiB took 0.43 s with the thread pool, 0.43 s with one thread, 0.30 s with two
 * and 0.31 s with four; of 200 KB files 0.98 s, 1.18 s, 0.70 s and 0.66 s. The Bruker-like folder
 * (1 GiB + 51 small files) was fastest with one (0.76 s; two 0.79 s, the pool 0.80 s): the large
 * file's hashing needs the second core.
 */
const SMALL_FILES_PER_THREAD = 250;
const SMALL_THREADS_MAX = 4;
const smallThreads = (n: number) => Math.min(SMALL_THREADS_MAX, Math.ceil(n / SMALL_FILES_PER_THREAD));

/** Which files are small (see SMALL_FILE_BYTES) and the buffer size that reads any of them at once. */
interface SizePlan {
  small: number[];
  large: number[];
  smallBuf: number;
}

/** `singleSmall`: a lone small file counts as small too (a caller's small-file thread takes it). */
function planBySize(files: ManifestEntry[], singleSmall: boolean): SizePlan {
  const small: number[] = [];
  const large: number[] = [];
  const many = files.length > 1 || singleSmall;
  for (let i = 0; i < files.length; i++) {
    (many && files[i]!.size <= SMALL_FILE_BYTES ? small : large).push(i);
  }
  // big enough to read most small files in one call (the next read then returns 0)
  const smallBuf = Math.min(
    small.reduce((m, i) => Math.max(m, files[i]!.size + 1), 64 * 1024),
    CHUNK_BYTES,
  );
  return { small, large, smallBuf };
}

interface Helpers {
  readBack: ReadBack;
  writer: PieceWriter;
  /** Opens and reads the sources of the files copied here (source-reader.ts: a hung share blocks it only). */
  reader: SourceReader;
  /** Hashes the files the writer writes (hash-thread.ts); absent without such a file. */
  hashThread?: HashThread;
  /** Copies the small files when there are enough of them (SMALL_THREAD_MIN_FILES). */
  smallThread?: SmallFileCopier;
}

/** Throw `source_changed` unless the source `src` of `e` was read whole and is still as listed. */
export function checkUnchanged(
  label: string,
  e: ManifestEntry,
  bytesRead: number,
  now: { size: number; mtimeMs: number },
  src: string,
): void {
  const why: string[] = [];
  if (bytesRead !== e.size || now.size !== e.size) {
    why.push(`${src}: size was ${e.size} bytes, read ${bytesRead}, now ${now.size}`);
  } else if (now.mtimeMs !== e.mtimeMs) why.push(`${src}: modified while being copied (mtime changed)`);
  if (why.length > 0) throw sourceChanged(label, why, 'while it was being copied');
}

/** What a copy pass has done so far: the files copied (by index) and the bytes, for progress. */
interface PassState {
  copied: Copied;
  done: number;
}

/** Copy file `i` on this thread (copy-file.ts), with `bufs`; checked unchanged afterwards. */
async function copyOne(
  c: Ctx,
  h: Helpers,
  st: PassState,
  i: number,
  bufs: Buffers,
  signal = c.o.signal,
): Promise<void> {
  const e = c.o.before.files[i]!;
  const src = sourcePath(c.o.spec, e.rel);
  let mine = 0;
  const got = await copyFileHashing(src, c.tp(e.rel), {
    algorithm: c.o.algorithm,
    fast: c.o.fast,
    mode: fileMode,
    signal,
    bufs,
    readBack: h.readBack,
    reader: h.reader,
    writer: h.writer,
    hashThread: h.hashThread,
    targetDir: c.o.targetDir,
    bytesNeeded: c.total,
    onBytes: (n) => {
      st.done += n - mine;
      mine = n;
      c.o.onProgress(st.done);
    },
  });
  checkUnchanged(c.label, e, got.bytes, await c.srcStat(src), src);
  st.copied[i] = { entry: { ...e, hash: got.hash }, back: got.readBack, check: got.check };
}

/** Copy the small file `i` on the small-file thread; checked unchanged afterwards. */
async function copyOnThread(c: Ctx, st: PassState, i: number, thread: SmallFileCopier): Promise<void> {
  const e = c.o.before.files[i]!;
  const src = sourcePath(c.o.spec, e.rel);
  const dst = c.tp(e.rel);
  throwIfAborted(c.o.signal, `copy of ${src}`);
  const { algorithm, fast } = c.o;
  const got = await thread
    .copy(src, dst, { algorithm, fast: fast !== undefined, mode: FILE_MODE })
    .catch((err) => {
      throw (err as { side?: string }).side === 'source' ? sourceError(err, src) : c.tErr(err, dst);
    });
  st.done += got.bytes;
  c.o.onProgress(st.done);
  checkUnchanged(c.label, e, got.bytes, got.after, src);
  const check: ReadBackCheck =
    got.fast === undefined
      ? { algorithm, digest: got.hash }
      : { algorithm: FAST_ALGORITHM, digest: got.fast };
  st.copied[i] = {
    entry: { ...e, hash: got.hash },
    back: thread.readBack(dst, check.algorithm),
    check,
  };
}

/** One read of the source per file, hashed on the way; each file re-stat'ed afterwards. */
async function copyPass(c: Ctx, plan: SizePlan, h: Helpers): Promise<Copied> {
  const { spec } = c.o;
  const st: PassState = { copied: new Array(c.o.before.files.length), done: 0 };
  // The first failure on either side stops the other: no small file starts after a large one
  // failed, and a large file in progress stops (as if aborted) when a small one failed.
  const smallFailed = new AbortController();
  let largeFailed = false;
  const laneBufs: [Buffer, Buffer][] = [];
  const { smallThread } = h;
  const lanes = smallThread ? SMALL_THREAD_QUEUE * smallThread.threads : SMALL_CONCURRENCY;
  const smallDone = inLanes(plan.small, lanes, (i, lane) => {
    if (largeFailed) return Promise.reject(new Error('not started: a large file of the copy failed'));
    if (smallThread) return copyOnThread(c, st, i, smallThread);
    laneBufs[lane] ??= [Buffer.allocUnsafe(plan.smallBuf), Buffer.allocUnsafe(plan.smallBuf)];
    return copyOne(c, h, st, i, laneBufs[lane]);
  }).catch((err) => {
    smallFailed.abort(err);
    throw err;
  });
  smallDone.catch(() => {});
  const largeSignal = c.o.signal ? AbortSignal.any([c.o.signal, smallFailed.signal]) : smallFailed.signal;
  try {
    for (const i of plan.large) await copyOne(c, h, st, i, c.o.bufs, largeSignal);
  } catch (err) {
    // Stopped because a small file failed: that is the error to report.
    const bySmall = smallFailed.signal.aborted && !c.o.signal?.aborted;
    largeFailed = true;
    await smallDone.catch(() => {}); // the small files in flight end first
    throw bySmall ? smallFailed.signal.reason : err;
  }
  await smallDone;
  // Files added to or removed from a folder meanwhile.
  const root = spec.kind === 'files' ? spec.dir : spec.path;
  const changed = changedBetween(spec.kind, c.o.before.files, (await listSourceTree(spec)).files, root);
  if (changed.length > 0) throw sourceChanged(c.label, changed, 'while it was being copied');
  return st.copied;
}

/**
 * Finish the read-back of every file (the rest after the final fsync) and compare it with the same
 * checksum of the source, taken in the copy pass.
 */
async function checkReadBack(c: Ctx, copied: Copied): Promise<ManifestEntry[]> {
  const { spec, algorithm } = c.o;
  // Small files are read back on this thread, each mostly waiting on the disk: several at once.
  await inLanes(copied, SMALL_CONCURRENCY, async ({ entry: e, back, check }) => {
    throwIfAborted(c.o.signal, `copy of ${c.label} to ${c.o.dest}`);
    const got = await back.finish().catch((err) => {
      throw c.tErr(err, c.tp(e.rel));
    });
    if (got.size !== e.size || !sameHash(got.hash, check.digest)) {
      const name = spec.kind === 'file' ? c.o.dest : join(c.o.dest, e.rel);
      const recorded = check.algorithm === algorithm ? '' : ` (${algorithm} ${e.hash})`;
      throw new SluiceError(
        'backup.verify_failed',
        `read-back of the new copy ${name} does not match the source ${sourcePath(spec, e.rel)}: ` +
          `source ${e.size} bytes ${check.algorithm} ${check.digest}${recorded}, ` +
          `copy ${got.size} bytes ${got.hash}`,
        {
          hint: `the partial copy was removed and the copy is retried automatically; if this repeats, check the backup target ${c.o.targetDir} for disk or filesystem errors`,
        },
      );
    }
  });
  return copied.map((x) => x.entry);
}
