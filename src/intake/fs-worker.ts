/**
 * Filesystem access to a watch folder, run in a worker thread.
 *
 * Why a worker: watch folders are usually network shares. A share that hangs blocks whatever thread
 * is in the system call; for the many per-entry calls that is a worker, never the main event loop
 * (which keeps lease heartbeats running) nor libuv's shared 4-thread pool (which DNS and other file
 * I/O need; only the one directory read per scan goes there). The caller gives up after a deadline
 * and abandons the worker.
 *
 * Why synchronous calls inside it: on a local disk `lstatSync` costs about 2 µs per file, while
 * promise-based `stat` with 64 in flight cost about 7 µs (measured on 100,000 files); two workers
 * splitting the list roughly halve the wall time again.
 *
 * Workers are reused across scans through a small idle pool (acquireWorker / releaseWorker), each
 * checked out by one scan at a time.
 *
 * The worker body is plain JavaScript evaluated from a string, so it runs the same under tsx, vitest
 * and compiled builds. It only does primitive operations (list a folder, lstat a list, sum a folder
 * tree); all decisions stay in typed code. Names are read as bytes and handed over in text form
 * (core/names.ts, whose NAMES_JS runs here): a name that is not UTF-8 is listed, stat'ed and walked
 * by its bytes, never skipped as "gone".
 */
import { Worker } from 'node:worker_threads';
import { NAMES_JS } from '../core/names.ts';

/** Per-entry result kinds in the `lstat` answer. */
export const STAT_GONE = 0;
export const STAT_FILE = 1;
export const STAT_FOLDER = 2;
export const STAT_OTHER = 3;
export const STAT_ERROR = 4;

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
${NAMES_JS}
// Paths and names cross the thread boundary in text form (core/names.ts); calls take their bytes.
function fsPath(t) { return t.indexOf('\\\\') < 0 ? t : textToName(t); }
const SLASH = Buffer.from('/');
function err(e, path) { return { code: e && e.code || 'EUNKNOWN', message: String(e && e.message || e), path }; }
const OPTS = { throwIfNoEntry: false };
function kindOf(st) { return st.isFile() ? 1 : st.isDirectory() ? 2 : 3; }
function lstatMany(dir, names) {
  const out = new Float64Array(names.length * 3);
  const errors = [];
  for (let i = 0; i < names.length; i++) {
    try {
      const st = fs.lstatSync(fsPath(dir + '/' + names[i]), OPTS);
      if (st === undefined) { out[3 * i + 2] = 0; continue; }
      out[3 * i] = st.size; out[3 * i + 1] = st.mtimeMs; out[3 * i + 2] = kindOf(st);
    } catch (e) { out[3 * i + 2] = 4; errors.push([i, err(e, dir + '/' + names[i])]); }
  }
  return { out, errors };
}
// Walks with byte paths (names as listed, never decoded); errors name the path in text form.
function tree(rootText, mainFile) {
  const root = textToName(rootText);
  let top;
  try { top = fs.lstatSync(root, { throwIfNoEntry: false }); } catch (e) { return { error: err(e, rootText) }; }
  if (top === undefined) return { gone: true };
  let size = 0, mtimeMs = top.mtimeMs, hasMain = false, files = 0;
  // members: rel (relative, '/'-separated), size and mtime of every file, in parallel arrays
  const rels = [], nums = [];
  const stack = [root], relOf = [''];
  while (stack.length > 0) {
    const d = stack.pop(), rd = relOf.pop();
    let entries;
    try { entries = fs.readdirSync(d, { withFileTypes: true, encoding: 'buffer' }); }
    catch (e) { if (e.code === 'ENOENT' && d !== root) continue; if (e.code === 'ENOENT') return { gone: true }; return { error: err(e, nameToText(d)) }; }
    for (const e of entries) {
      if (!e.isFile() && !e.isDirectory()) continue;
      const p = Buffer.concat([d, SLASH, e.name]);
      let st;
      try { st = fs.lstatSync(p, { throwIfNoEntry: false }); } catch (x) { return { error: err(x, nameToText(p)) }; }
      if (st === undefined) continue;
      if (st.mtimeMs > mtimeMs) mtimeMs = st.mtimeMs;
      const name = nameToText(e.name);
      const rel = rd === '' ? name : rd + '/' + name;
      if (st.isDirectory()) { stack.push(p); relOf.push(rel); continue; }
      size += st.size; files++;
      rels.push(rel); nums.push(st.size, st.mtimeMs);
      if (d === root && e.name.length === mainFile.length && nameToText(e.name).toLowerCase() === mainFile) hasMain = true;
    }
  }
  return { size, mtimeMs, hasMain, files, rels, nums: new Float64Array(nums) };
}
// The names of dir's entries (no '.' or '..'), posted in parts of m.chunk as they are read: the
// caller stats the first parts while later ones are still being read. opendir reads the directory in
// its own order; readdir would sort it (libuv), which cost a third of the listing on 100,000 names.
// Names are read as strings (UTF-8): reading them as bytes costs a Buffer per name, three times the
// CPU of the listing (measured on 100,000 names: 290 ms against 100 ms). A string whose text form
// may differ from it (SUSPECT: a U+FFFD that stands for bytes that are not UTF-8, a control
// character, a backslash) is left out, and those names are then read again by bytes in a second
// listing and handed over in text form. The two listings are disjoint by the same test on the same
// decoding; an entry created or removed between them is seen or missed as by any later listing.
const SUSPECT = /[\\x00-\\x1f\\x7f\\\\\\uFFFD]/;
function list(m) {
  let d, suspect = false;
  try { d = fs.opendirSync(fsPath(m.dir), { bufferSize: 4096 }); } catch (e) { return { error: err(e, m.dir) }; }
  try {
    let part = [];
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (SUSPECT.test(e.name)) { suspect = true; continue; }
      part.push(e.name);
      if (part.length >= m.chunk) { parentPort.postMessage({ id: m.id, part }); part = []; }
    }
    if (part.length > 0) parentPort.postMessage({ id: m.id, part });
  } catch (e) { return { error: err(e, m.dir) }; }
  finally { try { d.closeSync(); } catch {} }
  if (!suspect) return { done: true };
  try {
    const part = [];
    for (const b of fs.readdirSync(fsPath(m.dir), { encoding: 'buffer' })) {
      if (SUSPECT.test(b.toString('utf8'))) part.push(nameToText(b));
    }
    if (part.length > 0) parentPort.postMessage({ id: m.id, part });
  } catch (e) { return { error: err(e, m.dir) }; }
  return { done: true };
}
// Whether dir is a mount point (its device differs from its parent's, or it is '/'), and its free space.
// (free space unknown, not an error, when only statfs fails)
function probe(dir, parent) {
  let self, up, fsst;
  try { self = fs.statSync(dir); up = fs.statSync(parent); } catch (e) { return { error: err(e, dir) }; }
  try { fsst = fs.statfsSync(dir); } catch {}
  const mounted = self.dev !== up.dev || self.ino === up.ino;
  if (!fsst) return { mounted };
  return { mounted, space: { freeBytes: fsst.bavail * fsst.bsize, totalBytes: fsst.blocks * fsst.bsize } };
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'list') {
      parentPort.postMessage({ id: m.id, ...list(m) });
    } else if (m.op === 'lstat') {
      const r = lstatMany(m.dir, m.names);
      parentPort.postMessage({ id: m.id, out: r.out, errors: r.errors }, [r.out.buffer]);
    } else if (m.op === 'tree') {
      const t = tree(m.path, m.mainFile);
      parentPort.postMessage({ id: m.id, ...t }, t.nums ? [t.nums.buffer] : []);
    } else if (m.op === 'probe') {
      parentPort.postMessage({ id: m.id, ...probe(m.dir, m.parent) });
    }
  } catch (e) { parentPort.postMessage({ id: m.id, error: err(e) }); }
});
`;

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

// biome-ignore lint/suspicious/noExplicitAny: replies are shaped by the worker source above
type Reply = any;

/** One worker thread answering requests in order. */
export class FsWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  /** Receivers of a listing's parts, by request id. */
  private readonly onPart = new Map<number, (names: string[]) => void>();
  private nextId = 1;
  private dead: Error | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor() {
    this.worker = new Worker(SOURCE, { eval: true });
    this.worker.on('message', (m: Reply) => {
      if (m.part) {
        this.onPart.get(m.id)?.(m.part);
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
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`filesystem worker exited (code ${code})`)));
  }

  private request(msg: Record<string, unknown>, onPart?: (names: string[]) => void): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    if (onPart) this.onPart.set(id, onPart);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
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
    return this.request({ op: 'lstat', dir, names });
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
    this.worker.unref();
    this.idleTimer = setTimeout(onExpire, ms);
    this.idleTimer.unref();
  }

  /** Taken from the idle pool for a scan. */
  unpark(): void {
    clearTimeout(this.idleTimer);
    this.worker.ref();
  }

  /**
   * Stop the worker. With `abandon`, do not wait: a thread stuck in a hung system call cannot be
   * stopped, so it is unref'd and left behind rather than blocking the caller.
   */
  async close(abandon = false): Promise<void> {
    clearTimeout(this.idleTimer);
    if (abandon) {
      this.worker.unref();
      void this.worker.terminate().catch(() => {});
      return;
    }
    await this.worker.terminate();
  }
}

/**
 * Idle workers kept for the next scan. A new thread costs ~20 ms of CPU to start, and its code runs
 * cold: on 100,000 files a fresh pair of workers used twice the CPU of a warm pair. Each idle worker
 * holds ~9 MB; they stop after two minutes unused (scan intervals default to 10 s).
 */
const idle: FsWorker[] = [];
const MAX_IDLE = 4;
const IDLE_MS = 120_000;

/** A worker for one scan's exclusive use (a hung share then blocks only that scan's workers). */
export function acquireWorker(): FsWorker {
  for (let w = idle.pop(); w; w = idle.pop()) {
    if (w.reusable) {
      w.unpark();
      return w;
    }
    void w.close();
  }
  return new FsWorker();
}

/** Return a worker after a scan; `abandon` (the scan timed out) drops it without waiting. */
export function releaseWorker(w: FsWorker, abandon = false): void {
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

/** How many workers wait in the idle pool (for tests and health output). */
export function idleWorkers(): number {
  return idle.length;
}
