/**
 * Filesystem access to a watch folder, run in a worker thread (its body: fs-thread-body.mjs).
 *
 * Why a thread: watch folders are usually network shares. A share that hangs blocks whatever thread
 * is in the system call; for the many per-entry calls that is a scan thread, never the main event
 * loop (which keeps lease heartbeats running) nor libuv's shared 4-thread pool (which DNS and other
 * file I/O need; only the one directory read per scan goes there). The caller gives up after a
 * deadline and abandons the thread.
 *
 * Why synchronous calls inside it: on a local disk `lstatSync` costs about 2 µs per file, while
 * promise-based `stat` with 64 in flight cost about 7 µs (measured on 100,000 files); two threads
 * splitting the list roughly halve the wall time again.
 *
 * Threads are reused across scans through a small idle pool (acquireThread / releaseThread), each
 * checked out by one scan at a time.
 *
 * The thread body is a plain JavaScript module (type-checked from its JSDoc), so it runs the same
 * under tsx, vitest and compiled builds with no TypeScript loader in the thread. It only does
 * primitive operations (list a folder, lstat a list, sum a folder tree); all decisions stay in typed
 * code. Names are read as bytes and handed over in text form (core/names.ts, whose core
 * names-core.mjs runs there too).
 */
import { Worker } from 'node:worker_threads';

/** Per-entry result kinds in the `lstat` answer. */
export const STAT_GONE = 0;
export const STAT_FILE = 1;
export const STAT_FOLDER = 2;
export const STAT_OTHER = 3;
export const STAT_ERROR = 4;

/**
 * Lists of names cross the thread boundary as one string, joined by newlines: one string to copy
 * instead of thousands (a name in text form never holds a newline: core/names.ts escapes controls).
 */
const NL = '\n';

/** The thread body, a module beside this one (also when compiled). */
const BODY = new URL('./fs-thread-body.mjs', import.meta.url);

export interface FsFault {
  code: string;
  message: string;
  path?: string;
}

export type TreeSummary =
  | {
      size: number;
      mtimeMs: number;
      hasMain: boolean;
      files: number;
      /** Every file's path relative to the folder (`/`-separated), and its size and mtime at 2i, 2i+1 of `nums`. */
      rels: string[];
      nums: Float64Array;
    }
  | { gone: true }
  | { error: FsFault };

export interface LstatBatch {
  /** Triples (size, mtimeMs, kind) per requested name; kind is one of the STAT_* constants. */
  out: Float64Array;
  errors: [index: number, fault: FsFault][];
}

/** A watch folder's mount state and free space (`space` absent when statfs failed). */
export interface FolderProbe {
  mounted: boolean;
  space?: { freeBytes: number; totalBytes: number };
}

// biome-ignore lint/suspicious/noExplicitAny: replies are shaped by the thread body (fs-thread-body.mjs)
type Reply = any;

/** One filesystem thread answering requests in order. */
export class FsThread {
  private readonly thread: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  /** Receivers of a listing's parts, by request id. */
  private readonly onPart = new Map<number, (names: string[]) => void>();
  private nextId = 1;
  private dead: Error | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.thread = new Worker(BODY);
    this.thread.on('message', (m: Reply) => {
      if (typeof m.part === 'string') {
        this.onPart.get(m.id)?.(m.part.split(NL));
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.onPart.delete(m.id);
      p.resolve(m);
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.onPart.clear();
    };
    this.thread.on('error', fail);
    // "worker" in the message: fs-thread.test.ts matches it
    this.thread.on('exit', (code) => fail(new Error(`filesystem worker exited (code ${code})`)));
  }

  private request(msg: Record<string, unknown>, onPart?: (names: string[]) => void): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    if (onPart) this.onPart.set(id, onPart);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.postMessage({ ...msg, id });
    });
  }

  /**
   * The names in `dir` (text paths and names throughout; no `.` and `..`, in directory order), handed to `onPart` in parts of up to
   * `chunk` names while the directory is still being read; resolves when all parts were handed over.
   */
  async list(
    dir: string,
    chunk: number,
    onPart: (names: string[]) => void,
  ): Promise<{ done: true } | { error: FsFault }> {
    return this.request({ op: 'list', dir, chunk }, onPart);
  }

  /** lstat of each `dir/name`. */
  async lstat(dir: string, names: string[]): Promise<LstatBatch | { error: FsFault }> {
    return this.request({ op: 'lstat', dir, names: names.join(NL) });
  }

  /**
   * Total file size, newest mtime (folders included), presence of `mainFile` (lower-case) at the top,
   * and every file (the acquired fingerprint's members, files/fingerprint.ts).
   */
  async tree(path: string, mainFile: string): Promise<TreeSummary> {
    return this.request({ op: 'tree', path, mainFile: mainFile.toLowerCase() });
  }

  /**
   * Whether `dir` is a mount point, and the free space of its filesystem (disk.ts `isMountPoint` and
   * `freeSpace`, on this thread: a hung share must not block libuv's pool).
   */
  async probe(dir: string, parent: string): Promise<FolderProbe | { error: FsFault }> {
    return this.request({ op: 'probe', dir, parent });
  }

  /** Alive and not working on anything: may go back to the idle pool. */
  get reusable(): boolean {
    return this.dead === undefined && this.pending.size === 0;
  }

  /** Parked in the idle pool: does not keep the process alive, and stops after `ms` unused. */
  park(ms: number, onExpire: () => void): void {
    this.thread.unref();
    this.idleTimer = setTimeout(onExpire, ms);
    this.idleTimer.unref();
  }

  /** Taken from the idle pool for a scan. */
  unpark(): void {
    clearTimeout(this.idleTimer);
    this.thread.ref();
  }

  /**
   * Stop the thread. With `abandon`, do not wait: a thread stuck in a hung system call cannot be
   * stopped, so it is unref'd and left behind rather than blocking the caller.
   */
  async close(abandon = false): Promise<void> {
    clearTimeout(this.idleTimer);
    if (abandon) {
      this.thread.unref();
      void this.thread.terminate().catch(() => {});
      return;
    }
    await this.thread.terminate();
  }
}

/**
 * Idle threads kept for the next scan. A new thread costs ~20 ms of CPU to start, and its code runs
 * cold: on 100,000 files a fresh pair of threads used twice the CPU of a warm pair. Each idle thread
 * holds ~9 MB; they stop after two minutes unused (scan intervals default to 10 s).
 */
const idle: FsThread[] = [];
const MAX_IDLE = 4;
const IDLE_MS = 120_000;

/** A thread for one scan's exclusive use (a hung share then blocks only that scan's threads). */
export function acquireThread(): FsThread {
  for (let w = idle.pop(); w; w = idle.pop()) {
    if (w.reusable) {
      w.unpark();
      return w;
    }
    void w.close();
  }
  return new FsThread();
}

/** Return a thread after a scan; `abandon` (the scan timed out) drops it without waiting. */
export function releaseThread(w: FsThread, abandon = false): void {
  if (abandon) {
    void w.close(true);
    return;
  }
  if (!w.reusable || idle.length >= MAX_IDLE) {
    void w.close().catch(() => {});
    return;
  }
  idle.push(w);
  w.park(IDLE_MS, () => {
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
    void w.close().catch(() => {});
  });
}

/** How many threads wait in the idle pool (for tests and health output). */
export function idleThreads(): number {
  return idle.length;
}
