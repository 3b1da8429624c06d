/**
 * Streaming file hashing with large buffers.
 *
 * Reads with `FileHandle.read` into two 8 MiB buffers in turn: while chunk N is hashed on this
 * thread, chunk N+1 is already being read in libuv's thread pool. That keeps the disk and the CPU
 * busy together, and avoids the many small chunks of `createReadStream`.
 *
 * Algorithms: `sha256` by default, or any name `crypto.getHashes()` lists (`md5`, `sha1`,
 * `blake2b512`, ...); anything else is `backup.bad_hash` (a configuration error, permanent).
 *
 * Crash points: hashing only reads, so a kill at any point leaves nothing behind. Raw fs errors
 * (ENOENT, EIO, ...) are thrown unchanged: the caller knows whether the path is a source or a copy and
 * maps them (see fsutil.ts).
 */
import { createHash, getHashes, type Hash } from 'node:crypto';
import { PermanentError } from '../core/errors.ts';
import { open } from '../core/text-fs.ts';
import { throwIfAborted } from '../storage/fsutil.ts';

export const DEFAULT_ALGORITHM = 'sha256';
/** Size of each read/write buffer. Two are in use per file being hashed or copied. */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Two buffers for reading files of at most `largest` bytes: RING_CHUNK_BYTES each, or less for small
 * files (allocating 16 MiB per copy of a 1 KiB file made the garbage collector a main cost when
 * copying thousands of small files). A file that grew meanwhile is still read whole, in more reads.
 *
 * Full-size buffers (the largest file is over 2 MiB) are a ring of RING_BUFFERS, in shared memory: a
 * copy of a large file writes from them on a worker thread (writer.ts), and with four the hashing goes
 * on while that thread is held up by a read-back or a flush on the same core (with two, a copy of
 * 1 GiB took 0.02–0.03 s longer here). Give a ring back with `releaseBuffers` once nothing uses it.
 *
 * Memory, on purpose: a ring is RING_BUFFERS × RING_CHUNK_BYTES = 4 × 4 MiB = 16 MiB, held by each
 * copy of a large file while it runs, and at most MAX_IDLE_RINGS = 2 rings (32 MiB) are kept between
 * copies. With the read-back's 4 MiB (readback.ts) and its four helper threads of ~9 MB each (source
 * reader, writer, hash, read-back), one copy of a large file needs ~56 MB beyond the process's own;
 * the backup bench's process (~100 MB before it copies) peaks below 200 MB.
 * Why a pool at all: a shared buffer is freed only when every thread that was handed it (the pooled
 * source-reader threads, source-reader.ts) has collected its handle, and an idle thread collects
 * nothing; a new ring per copy therefore piled up (measured: +32 MiB of `arrayBuffers` per copy, the
 * backup bench's process at 541 MB after 18 copies). Reusing the same rings keeps it flat.
 */
export function allocBuffers(largest: number): Buffers {
  const size = Math.min(RING_CHUNK_BYTES, Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(largest + 1))));
  if (size < RING_CHUNK_BYTES) return [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const pooled = idleRings.pop();
  if (pooled) return pooled;
  const shared = () => Buffer.from(new SharedArrayBuffer(size));
  return [shared(), shared(), ...Array.from({ length: RING_BUFFERS - 2 }, shared)];
}

/**
 * Give back buffers from `allocBuffers` for the next copy. Call only when no read, write or hash of
 * any thread can still touch them (the copy returned; after an error, simply do not call it: the ring
 * is then left to the garbage collector).
 */
export function releaseBuffers(bufs: Buffers): void {
  const ring = bufs.length === RING_BUFFERS && bufs.every((b) => b.buffer instanceof SharedArrayBuffer);
  if (ring && idleRings.length < MAX_IDLE_RINGS && !idleRings.includes(bufs)) idleRings.push(bufs);
}

/** At least two buffers of the same size, used in turn. */
export type Buffers = [Buffer, Buffer, ...Buffer[]];
/** Buffers for copying a large file (see `allocBuffers`). */
const RING_BUFFERS = 4;
/**
 * Size of each buffer of a ring (see `allocBuffers`): 4 MiB, half of CHUNK_BYTES, for memory; 1, 2, 8
 * and 16 MiB chunks copied equally fast here (copy-file.ts).
 */
export const RING_CHUNK_BYTES = 4 * 1024 * 1024;
/** Rings kept between copies (see `allocBuffers`). */
const MAX_IDLE_RINGS = 2;
const idleRings: Buffers[] = [];

let known: Map<string, string> | undefined;

/**
 * Validate a hash algorithm name (case-insensitive) and return its canonical `getHashes()` spelling.
 * Throws PermanentError `backup.bad_hash` for unknown names.
 */
export function checkAlgorithm(algorithm: string = DEFAULT_ALGORITHM): string {
  known ??= new Map(getHashes().map((h) => [h.toLowerCase(), h]));
  const name = known.get(algorithm.trim().toLowerCase());
  if (!name) {
    throw new PermanentError(
      'backup.bad_hash',
      `unknown hash algorithm "${algorithm}"`,
      'use sha256 (the default), md5, sha1, blake2b512 or another name listed by `node -p "crypto.getHashes()"`',
    );
  }
  return name;
}

export function createHasher(algorithm: string): Hash {
  return createHash(checkAlgorithm(algorithm));
}

export interface HashOptions {
  algorithm?: string;
  signal?: AbortSignal;
  /** Called after each chunk with the number of bytes hashed so far. */
  onBytes?: (bytesDone: number) => void;
  /** Reused buffers (two of the same size, at most CHUNK_BYTES); allocated when absent. */
  bufs?: Buffers;
}

/** Hash the whole file at `path`; returns the hex digest and the number of bytes read. */
export async function hashFile(
  path: string,
  opts: HashOptions = {},
): Promise<{ hash: string; size: number }> {
  const hasher = createHasher(opts.algorithm ?? DEFAULT_ALGORITHM);
  throwIfAborted(opts.signal, `hashing ${path}`);
  const fh = await open(path, 'r');
  const bufs = opts.bufs ?? [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let pending: Promise<{ bytesRead: number }> | undefined;
  let pos = 0;
  let turn = 0;
  try {
    pending = fh.read(bufs[0], 0, bufs[0].length, 0);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) break;
      const cur = bufs[turn]!;
      pos += bytesRead;
      turn ^= 1;
      throwIfAborted(opts.signal, `hashing ${path}`);
      // Start the next read before hashing this chunk: the thread pool reads while we hash.
      pending = fh.read(bufs[turn]!, 0, bufs[turn]!.length, pos);
      pending.catch(() => {}); // awaited next turn; no unhandled rejection if we throw first
      hasher.update(cur.subarray(0, bytesRead));
      opts.onBytes?.(pos);
    }
    return { hash: hasher.digest('hex'), size: pos };
  } finally {
    // Never close the descriptor under a read still running in the thread pool.
    if (pending) await pending.catch(() => {});
    await fh.close();
  }
}

/** Hex digests compare case-insensitively (other tools may print upper case). */
export function sameHash(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
