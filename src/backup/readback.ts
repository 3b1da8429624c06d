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
 * Small files (below READBACK_INLINE_MAX_BYTES, as told by `open`'s size hint) are read back on the
 * calling thread instead, in one pass by `finish` after the final fsync; the worker is started only
 * for the first file that needs it, so a copy of small files never starts one.
 *
 * What it verifies is what the filesystem returns; right after writing that is usually the page cache
 * (Node cannot drop it), so it catches copy bugs, short writes and errors the filesystem reports, not
 * silent media corruption; the remover and the fixity audits re-read from storage later (O_DIRECT,
 * storage-read.ts, fixity.ts). Reading back with O_DIRECT here would cost a factor of ~7 on cached
 * data (1.1 GB/s from the disk against 8-9 GB/s from the cache, measured) beyond the benchmark target.
 *
 * Crash points: the worker only reads; a kill leaves nothing behind. `close` closes every descriptor
 * the worker holds before terminating it (descriptors belong to the process, not the thread), and a
 * read-back still pending then rejects instead of hanging.
 */
import { createHash } from 'node:crypto';
import { fsPath } from '../core/names.ts';
import { open } from '../core/text-fs.ts';
import { FAST_ALGORITHM, fastChecksum, fastWorkerData } from './fastsum.ts';
import { ThreadCalls, type ThreadReply } from './thread-calls.ts';

/** Size of the worker's read buffer (4 MiB: one per copy of a large file, see hash.ts on memory). */
export const READBACK_BUF_BYTES = 4 * 1024 * 1024;

/**
 * Files smaller than this (by the size hint given to `open`) are read back on the calling thread, in
 * one pass after the final fsync, instead of in the worker: starting a worker thread costs ~20 ms and
 * ~100 ms of CPU (plus loading the checksum binding), far more than reading a small file; with 10,000
 * small files that was the dominant cost of the whole backup. The worker is started on the first file
 * at or above this size only. Same guarantees: the copy is re-read through a new descriptor opened by
 * path, after the fsync of its data, and hashed with the same checksum as the worker would use.
 */
export const READBACK_INLINE_MAX_BYTES = 8 * 1024 * 1024;

/** Read buffer of an inline read-back (smaller for smaller files). */
const INLINE_BUF_BYTES = 1024 * 1024;

/** The thread's body, a module beside this one (also when compiled). */
const BODY = new URL('./readback-thread-body.mjs', import.meta.url);

interface Reply extends ThreadReply {
  hash?: string;
  size?: number;
}

export interface ReadBackFile {
  /** The bytes [0, upTo) are written and flushed: the worker may read them now. */
  allow(upTo: number): void;
  /** Read the rest up to end-of-file; resolves with the copy's digest and size. */
  finish(): Promise<{ hash: string; size: number }>;
}

/** Hash `path` up to end-of-file on this thread (an inline read-back, see READBACK_INLINE_MAX_BYTES). */
async function readBackInline(
  path: string,
  algorithm: string,
  sizeHint: number,
): Promise<{ hash: string; size: number }> {
  let hash: { update(d: Buffer): unknown; digest(): string };
  if (algorithm === FAST_ALGORITHM) {
    const fast = fastChecksum();
    if (!fast) throw new Error('the fast read-back checksum is not available');
    hash = fast.create();
  } else {
    const h = createHash(algorithm);
    hash = { update: (d) => h.update(d), digest: () => h.digest('hex') };
  }
  const buf = Buffer.allocUnsafe(Math.max(4096, Math.min(INLINE_BUF_BYTES, sizeHint + 1)));
  const fh = await open(path, 'r');
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { hash: hash.digest(), size: pos };
}

export class ReadBack {
  /** The worker, started on the first `open` that needs it (a file without size hint or not small). */
  private readonly calls = new ThreadCalls<Reply>(BODY, 'read-back worker', {
    bufBytes: READBACK_BUF_BYTES,
    ...fastWorkerData(),
  });
  private nextId = 0;
  private closed = false;

  /** Whether the worker thread was started (small files never start it). */
  get workerStarted(): boolean {
    return this.calls.started;
  }

  private expect(id: number): Promise<Reply> {
    if (this.closed && !this.calls.started) return Promise.reject(new Error('read-back closed'));
    return this.calls.expect(id);
  }

  /**
   * Start reading back `path` (the copy being written) with `algorithm`: a `crypto` hash name, or
   * `FAST_ALGORITHM` (fastsum.ts; only when `fastChecksum()` is available). With a `sizeHint` (the
   * source's size) below READBACK_INLINE_MAX_BYTES the copy is read back on this thread by `finish`
   * (`allow` does nothing); otherwise by the worker, window by window.
   */
  open(path: string, algorithm: string, sizeHint?: number): ReadBackFile {
    if (sizeHint !== undefined && sizeHint < READBACK_INLINE_MAX_BYTES) {
      let result: Promise<{ hash: string; size: number }> | undefined;
      return {
        allow: () => {},
        finish: () => {
          if (this.closed) return Promise.reject(new Error('read-back closed'));
          result ??= readBackInline(path, algorithm, sizeHint);
          return result;
        },
      };
    }
    const id = this.nextId++;
    const reply = this.expect(id);
    // Never start a worker after close (nothing would stop it).
    const post = (m: object) => {
      if (!this.closed || this.calls.started) this.calls.post(m);
    };
    post({ type: 'open', id, path: fsPath(path), algorithm }); // the bytes of a text path
    let finished = false;
    return {
      allow: (upTo) => {
        if (!finished) post({ type: 'allow', id, upTo });
      },
      finish: async () => {
        if (!finished) post({ type: 'finish', id });
        finished = true;
        const r = await reply;
        return { hash: r.hash ?? '', size: r.size ?? 0 };
      },
    };
  }

  /** Close every descriptor the worker holds, then stop it. */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.calls.started) return;
    if (!this.calls.failed) {
      const done = this.expect(-1);
      this.calls.post({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 10_000)))]).catch(() => {});
      clearTimeout(timer);
    }
    await this.calls.terminate();
  }
}
