/**
 * The small files of a multi-file copy, copied and read back by worker threads with synchronous
 * calls (`SmallFileCopier`; one thread, more for thousands of files: copy-tree.ts).
 *
 * Why a thread: a small file costs ~17 file-system calls (open, stat, read, write pieces, mode, times,
 * fsync, close, re-stat, and the read-back's open, read, close). Through libuv's thread pool each is
 * a hand-off to a pool thread and back: measured here, 50 files of 10–500 KiB cost 80 ms of CPU that
 * way, mostly in thread switches, against 25 ms with the same calls made synchronously. The copy of a
 * Bruker-like folder (1 GiB + 50 small files) runs on the same two cores as the large file's hashing,
 * so that CPU showed in its time: 0.81–0.87 s against 0.71–0.77 s for the large file alone (0.76–0.81 s
 * with the thread). A thread doing the calls one after another keeps the pool and the main thread
 * (which hashes the large file) free.
 *
 * Same guarantees as `copyFileHashing` (copy-file.ts): the source is read once and both digests (the
 * recorded algorithm, and the fast read-back checksum when asked) are of exactly the bytes written;
 * the destination is opened with `wx` (never truncates); it gets its final mode and the source's
 * times before one fsync; the source is re-stat'ed after, so the caller can tell a change during the
 * copy. The read-back re-reads the copy through a new descriptor opened by path, after that fsync,
 * when the caller asks (after its `verify` phase).
 *
 * Errors name their side (`source` or `target`) so the caller maps them as for any other file
 * (fsutil.ts). Crash points: the thread writes only the temp file it is given; a kill leaves a partial
 * temp, which the next attempt's leftover sweep removes. Every descriptor the thread opens is closed
 * before its reply, so `close` (which terminates the thread) never leaks one.
 */
import { fsPath } from '../core/names.ts';
import { fastWorkerData } from './fastsum.ts';
import type { ReadBackFile } from './readback.ts';
import { ThreadCalls, type ThreadReply } from './thread-calls.ts';
import { WRITE_PIECE_BYTES } from './writer.ts';

/**
 * A copy with at least this many small files copies them on the thread; fewer go through the thread
 * pool (copy-tree.ts), where starting a thread (~20 ms) would cost more than it saves.
 */
export const SMALL_THREAD_MIN_FILES = 8;

/** The thread's body, a module beside this one (also when compiled). */
const BODY = new URL('./small-files-thread-body.mjs', import.meta.url);

interface Reply extends ThreadReply {
  bytes?: number;
  hash?: string;
  fast?: string;
  after?: { size: number; mtimeMs: number };
  size?: number;
  stop?: string;
  listed?: { size: number; mtimeMs: number };
  afterFile?: boolean;
  back?: { hash: string; size: number };
  tempFile?: boolean;
  tempSize?: number;
  exists?: boolean;
  linkFailed?: string;
  guardFailed?: boolean;
}

/**
 * The backup target's usual state, checked on the thread right before a commit (target.ts): with
 * `mountRoot`, that folder is a mount point; the marker file `marker` names `instance`.
 */
export interface TargetGuard {
  marker: string;
  instance: string;
  mountRoot?: string;
}

/**
 * What `copyWhole` did: `stop` (nothing written, the general path must decide, and why), or the
 * copy made and read back.
 */
export type WholeCopy =
  | { stop: string }
  | (SmallCopy & {
      stop?: undefined;
      /** The source's `lstat` before the copy. */
      listed: { size: number; mtimeMs: number };
      /** Whether the source was still a regular file after the copy. */
      afterFile: boolean;
      /** The read-back of the temp (after its fsync): its digest with `check`, and its size. */
      back: { hash: string; size: number };
      /** The temp's `lstat` after the read-back. */
      temp: { file: boolean; size: number };
    });

export interface SmallCopy {
  /** Bytes read from the source (and written). */
  bytes: number;
  /** Hex digest of those bytes with the recorded algorithm. */
  hash: string;
  /** The fast checksum (FAST_ALGORITHM) of the same bytes, when asked for. */
  fast?: string;
  /** The source's `lstat` after the copy. */
  after: { size: number; mtimeMs: number };
}

/** How the copy's mode derives from the source's: `set | (sourceMode & keep)`. */
export interface ModeRule {
  set: number;
  keep: number;
}

/**
 * Threads copying small files, each one file at a time in the order it was asked. Each thread starts
 * on its first request; `close` stops them. A request's error carries the errno `code` and `side`
 * (`source` or `target`).
 */
export class SmallFileCopier {
  private readonly pool: ThreadCalls<Reply>[];

  /**
   * `bufBytes`: each thread's one buffer (the largest small file plus one byte reads it in one call);
   * `threads`: how many threads share the requests (each takes the next when it has the fewest
   * waiting).
   */
  constructor(
    readonly bufBytes: number,
    threads = 1,
  ) {
    const data = { bufBytes, ...fastWorkerData() };
    this.pool = Array.from(
      { length: Math.max(1, threads) },
      // requests made together go as one message (a batch's files copied side by side, batch-task.ts)
      () => new ThreadCalls<Reply>(BODY, 'the small-file copy thread', data, true),
    );
  }

  /**
   * Start the threads now (the copy calls it before it creates its directories, so their start
   * overlaps that work, and a failing small file is noticed before a large one is copied far).
   */
  warm(): void {
    for (const t of this.pool) t.request({ type: 'ping' }).catch(() => {}); // a failure shows on the first copy
  }

  /** How many threads share the requests. */
  get threads(): number {
    return this.pool.length;
  }

  /** Messages posted to the threads (requests made in the same turn go as one). */
  get posted(): number {
    return this.pool.reduce((n, t) => n + t.posted, 0);
  }

  /** How many threads were started (each on its first request). */
  get started(): number {
    return this.pool.filter((t) => t.started).length;
  }

  /** To the thread with the fewest requests waiting (a closed one refuses). */
  private call(m: Record<string, unknown>): Promise<Reply> {
    return this.pool.reduce((a, b) => (b.pending < a.pending ? b : a)).request(m);
  }

  /**
   * Copy `src` to the new file `dst` (see the module comment), hashing with `algorithm` and, with
   * `fast`, the fast checksum too.
   */
  async copy(
    src: string,
    dst: string,
    o: { algorithm: string; fast: boolean; mode: ModeRule },
  ): Promise<SmallCopy> {
    const r = await this.call({
      type: 'copy',
      src: fsPath(src), // text paths (core/names.ts): the thread opens their bytes
      dst: fsPath(dst),
      algorithm: o.algorithm,
      fast: o.fast,
      modeSet: o.mode.set,
      modeKeep: o.mode.keep,
      piece: WRITE_PIECE_BYTES,
    });
    if (r.bytes === undefined || r.hash === undefined || r.after === undefined) {
      throw new Error('the small-file copy thread sent an incomplete reply');
    }
    return { bytes: r.bytes, hash: r.hash, fast: r.fast, after: r.after };
  }

  /**
   * A small file's whole copy in one call (copy-small.ts), in this order: `stop` if anything is at
   * `dest` (nothing created); `parent` and its missing parents created (each new entry fsynced);
   * `stop` if the leftover partial folder `partialDir` is there, if the source is not a regular file
   * or cannot be stat'ed, or if `parent`'s filesystem has less free space than the file plus 4 KiB
   * (with `space`); then, with `makeTempDir`, `tempDir` (the folder holding `temp`: `partialDir`, or
   * a batch's, temp.ts) created if missing, the source copied to `temp` as `copy` does (fsync
   * included), the temp read back to end-of-file through a new descriptor and hashed with `check`
   * (the recorded algorithm or FAST_ALGORITHM), and the temp `lstat`-ed. Every path must be a
   * string in `fsPath` form except `src` (which may be bytes).
   */
  async copyWhole(o: {
    src: string;
    dest: string;
    parent: string;
    partialDir: string;
    tempDir: string;
    makeTempDir: boolean;
    temp: string;
    algorithm: string;
    fast: boolean;
    check: string;
    space: boolean;
    mode: ModeRule;
  }): Promise<WholeCopy> {
    const r = await this.call({
      type: 'whole',
      src: fsPath(o.src),
      dest: o.dest,
      parent: o.parent,
      partialDir: o.partialDir,
      tempDir: o.tempDir,
      makeTempDir: o.makeTempDir,
      temp: o.temp,
      algorithm: o.algorithm,
      fast: o.fast,
      check: o.check,
      space: o.space,
      modeSet: o.mode.set,
      modeKeep: o.mode.keep,
      piece: WRITE_PIECE_BYTES,
    });
    if (r.stop !== undefined) return { stop: r.stop };
    if (
      r.listed === undefined ||
      r.bytes === undefined ||
      r.hash === undefined ||
      r.after === undefined ||
      r.back === undefined ||
      r.tempFile === undefined ||
      r.tempSize === undefined
    ) {
      throw new Error('the small-file copy thread sent an incomplete reply');
    }
    return {
      listed: r.listed,
      bytes: r.bytes,
      hash: r.hash,
      fast: r.fast,
      after: r.after,
      afterFile: r.afterFile === true,
      back: r.back,
      temp: { file: r.tempFile, size: r.tempSize },
    };
  }

  /**
   * Give `temp` the name `dest` without replacing anything (link, then unlink the temp) and, when
   * given, remove the emptied `partialDir` (its failure ignored; a batch's folder stays for its next
   * file). `exists`: something is at `dest`, nothing was
   * changed; `linkFailed` (the errno code): the filesystem refused the link, the temp is untouched
   * (rename.ts `commitFile` knows the other way). With `guard`, first checks it (`guardFailed`: it
   * does not hold, nothing was changed).
   */
  async commit(o: { temp: string; dest: string; partialDir?: string; guard?: TargetGuard }): Promise<{
    exists?: boolean;
    linkFailed?: string;
    guardFailed?: boolean;
  }> {
    const r = await this.call({ type: 'commit', ...o });
    return { exists: r.exists, linkFailed: r.linkFailed, guardFailed: r.guardFailed };
  }

  /**
   * The read-back of a copy made here: `finish` re-reads `path` to end-of-file on the thread and
   * hashes it with `algorithm` (a `crypto` name or FAST_ALGORITHM).
   */
  readBack(path: string, algorithm: string): ReadBackFile {
    let result: Promise<{ hash: string; size: number }> | undefined;
    return {
      allow: () => {},
      finish: () => {
        result ??= this.call({ type: 'readBack', path: fsPath(path), algorithm }).then((r) => ({
          hash: r.hash ?? '',
          size: r.size ?? 0,
        }));
        return result;
      },
    };
  }

  /** Stop the threads. Call after every request settled (one still waiting then rejects). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await Promise.all(this.pool.map((t) => t.terminate()));
  }

  /** Nothing waiting and every thread alive: may serve another batch (`acquireSmallCopier`). */
  get reusable(): boolean {
    return !this.closed && this.pool.every((t) => t.pending === 0 && t.failed === undefined);
  }

  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** Parked in the idle pool: does not keep the process alive; `onExpire` after `ms` unused. */
  park(ms: number, onExpire: () => void): void {
    for (const t of this.pool) t.setRef(false);
    this.idleTimer = setTimeout(onExpire, ms);
    this.idleTimer.unref();
  }

  /** Taken from the idle pool. */
  unpark(): void {
    clearTimeout(this.idleTimer);
    for (const t of this.pool) t.setRef(true);
  }
}

/**
 * One-thread copiers kept idle for the next batch of small files (batch-task.ts), as source-reader.ts
 * keeps its readers: starting a thread cost 36–47 ms of CPU (measured, loaded 2-core machine), and
 * the intake bench's 10,000 small files ran ~160 batches, each starting its own: ~0.7 ms of CPU per
 * file. Sized on purpose: at most as many idle as batches ran at once (the copy pool), up to
 * MAX_IDLE, each a thread of ~9 MB and its one buffer (at most SMALL_FILE_BYTES + 1); IDLE_MS after
 * their last batch they end. A copier is reused only when its buffer holds what is asked.
 */
const idle: SmallFileCopier[] = [];
const MAX_IDLE = 8;
const IDLE_MS = 120_000;

/** A one-thread copier with a buffer of at least `bufBytes`, for one batch's exclusive use. */
export function acquireSmallCopier(bufBytes: number): SmallFileCopier {
  for (let i = idle.length - 1; i >= 0; i--) {
    const c = idle[i]!;
    if (!c.reusable) {
      idle.splice(i, 1);
      void c.close().catch(() => {});
    } else if (c.bufBytes >= bufBytes) {
      idle.splice(i, 1);
      c.unpark();
      return c;
    }
  }
  return new SmallFileCopier(bufBytes);
}

/** Give a copier back after its batch (every request settled); the oldest idle one makes room. */
export function releaseSmallCopier(c: SmallFileCopier): void {
  if (!c.reusable) {
    void c.close().catch(() => {});
    return;
  }
  if (idle.length >= MAX_IDLE)
    void idle
      .shift()
      ?.close()
      .catch(() => {});
  idle.push(c);
  c.park(IDLE_MS, () => {
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    void c.close().catch(() => {});
  });
}
