/**
 * Read-back verification on a second core.
 *
 * A worker thread re-reads the copy (through its own descriptor, opened by path) and hashes it, while
 * the main thread goes on copying and hashing the source. It hashes with the fast 128-bit checksum
 * (`FAST_ALGORITHM`, fastsum.ts: loads the same native binding by its resolved path) when the copier
 * computed that of the source, else with the recorded algorithm (`crypto`). The worker may read only
 * what the copier has allowed: a range is allowed after its writes completed AND an fdatasync covering
 * it returned, so every byte is read back after it was flushed to storage, as a "fsync, then read
 * back" would, but window by window instead of after the whole file. `finish` reads the rest (after
 * the final fsync) up to end-of-file and returns the digest and size, which the caller compares with
 * the source's.
 *
 * What it verifies is what the filesystem returns; right after writing that is usually the page cache
 * (Node cannot drop it), so it catches copy bugs, short writes and errors the filesystem reports, not
 * silent media corruption; `verifyCopy` re-reads later.
 *
 * Crash points: the worker only reads; a kill leaves nothing behind. `close` closes every descriptor
 * the worker holds before terminating it (descriptors belong to the process, not the thread), and a
 * read-back still pending then rejects instead of hanging.
 */
import { Worker } from 'node:worker_threads';
import { FAST_ALGORITHM, FAST_SEEDS, fastChecksum } from './fastsum.ts';

/** Size of the worker's read buffer. */
export const READBACK_BUF_BYTES = 8 * 1024 * 1024;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(workerData.bufBytes);
const files = new Map();
let xxh;
// Same digest as FastHasher (fastsum.ts): two seeded XXH3-64 streams, 16 hex digits each.
function fastHasher() {
  if (!workerData.fastPath) throw new Error('the fast read-back checksum is not available');
  xxh ??= require(workerData.fastPath);
  const [a, b] = workerData.fastSeeds.map((s) => xxh.xxh3.Xxh3.withSeed(s));
  const hex = (v) => v.toString(16).padStart(16, '0');
  return {
    update(d) { a.update(d); b.update(d); },
    digest() { return hex(a.digest()) + hex(b.digest()); },
  };
}
function createHasher(algorithm) {
  return algorithm === workerData.fastName ? fastHasher() : crypto.createHash(algorithm);
}
function advance(f, limit) {
  while (f.pos < limit) {
    const n = fs.readSync(f.fd, buf, 0, Math.min(buf.length, limit - f.pos), f.pos);
    if (n === 0) break;
    f.hash.update(buf.subarray(0, n));
    f.pos += n;
  }
}
function drop(id) {
  const f = files.get(id);
  files.delete(id);
  if (f) try { fs.closeSync(f.fd); } catch {}
}
parentPort.on('message', (m) => {
  try {
    if (m.type === 'open') {
      const hash = createHasher(m.algorithm);
      files.set(m.id, { fd: fs.openSync(m.path, 'r'), hash, pos: 0 });
    } else if (m.type === 'allow') {
      const f = files.get(m.id);
      if (f) advance(f, m.upTo);
    } else if (m.type === 'finish') {
      const f = files.get(m.id);
      if (!f) return;
      advance(f, Infinity);
      drop(m.id);
      parentPort.postMessage({ id: m.id, hash: f.hash.digest('hex'), size: f.pos });
    } else if (m.type === 'close') {
      for (const id of [...files.keys()]) drop(id);
      parentPort.postMessage({ id: -1 });
    }
  } catch (e) {
    drop(m.id);
    parentPort.postMessage({ id: m.id, error: { code: e.code, message: e.message } });
  }
});
`;

interface Reply {
  id: number;
  hash?: string;
  size?: number;
  error?: { code?: string; message: string };
}

export interface ReadBackFile {
  /** The bytes [0, upTo) are written and flushed: the worker may read them now. */
  allow(upTo: number): void;
  /** Read the rest up to end-of-file; resolves with the copy's digest and size. */
  finish(): Promise<{ hash: string; size: number }>;
}

export class ReadBack {
  private readonly worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      bufBytes: READBACK_BUF_BYTES,
      fastName: FAST_ALGORITHM,
      fastPath: fastChecksum()?.path,
      fastSeeds: FAST_SEEDS,
    },
  });
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.error) w.reject(Object.assign(new Error(r.error.message), { code: r.error.code }));
      else w.resolve(r);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('read-back worker exited')));
  }

  private expect(id: number): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<Reply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    p.catch(() => {}); // observed by finish(); an early error must not count as unhandled
    return p;
  }

  /**
   * Start reading back `path` (the copy being written) with `algorithm`: a `crypto` hash name, or
   * `FAST_ALGORITHM` (fastsum.ts; only when `fastChecksum()` is available).
   */
  open(path: string, algorithm: string): ReadBackFile {
    const id = this.nextId++;
    const reply = this.expect(id);
    this.worker.postMessage({ type: 'open', id, path, algorithm });
    let finished = false;
    return {
      allow: (upTo) => {
        if (!finished) this.worker.postMessage({ type: 'allow', id, upTo });
      },
      finish: async () => {
        if (!finished) this.worker.postMessage({ type: 'finish', id });
        finished = true;
        const r = await reply;
        return { hash: r.hash ?? '', size: r.size ?? 0 };
      },
    };
  }

  /** Close every descriptor the worker holds, then stop it. */
  async close(): Promise<void> {
    if (!this.failure) {
      const done = this.expect(-1);
      this.worker.postMessage({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 10_000)))]).catch(() => {});
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }
}
