/**
 * Hash a file as it is on storage, not as the page cache remembers it.
 *
 * A read right after a copy is served from the page cache (readback.ts says so): it proves the copy
 * was written as intended, not that the disk holds it. Before the remover deletes an instrument copy,
 * and in every fixity audit (fixity.ts), the backup is read with O_DIRECT instead: each read goes to
 * the device, whatever the cache holds. The result says which read it was (`read: 'direct'`), so a
 * record never claims a storage read it did not make.
 *
 * O_DIRECT needs buffers aligned to the device's block size (`@ronomon/direct-io`'s
 * `getAlignedBuffer`, 4096 bytes, which covers 512- and 4096-byte sectors) and file offsets and
 * lengths in whole blocks (every read starts at a multiple of the buffer size; the last one returns
 * the short tail). Some filesystems refuse it: tmpfs before Linux 6.6 and some network filesystems
 * answer EINVAL (or EOPNOTSUPP) at open or at the first read. Then the file is read normally and the
 * result says `read: 'cached'`: the caller decides what such a read is worth (the remover refuses to
 * delete on it unless `cleanup.require_storage_read` is false).
 *
 * Measured here (ext4 on a virtio disk, 1 GiB, sha256 on the same thread, two 8 MiB buffers in turn):
 * see docs/intake-and-backup.md ("Verified from storage") for the figures.
 *
 * Throttling (`bytesPerSecond`): after each chunk the reader sleeps as long as `throttleDelayMs` says,
 * so the average rate since the start stays at or below the limit (fixity audits run beside copies).
 *
 * Crash points: only reads; a kill leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { type FileHandle, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { open, rm } from '../core/text-fs.ts';
import { errnoCode, throwIfAborted } from '../storage/fsutil.ts';
import { CHUNK_BYTES, createHasher } from './hash.ts';

/** How a file was read: `direct` bypassed the page cache (O_DIRECT); `cached` went through it. */
export type ReadMode = 'direct' | 'cached';

export interface StorageHash {
  hash: string;
  size: number;
  read: ReadMode;
  /** Why the read went through the cache (`read: 'cached'`): the error the filesystem gave. */
  fallback?: string;
}

export interface StorageReadOptions {
  algorithm: string;
  signal?: AbortSignal;
  onBytes?: (bytesDone: number) => void;
  /** Average read rate limit; undefined or 0 reads as fast as the storage allows. */
  bytesPerSecond?: number;
  /** For tests: open the file for a direct read (default: O_RDONLY | O_DIRECT). */
  openDirect?: (path: string) => Promise<FileHandle>;
}

/** Alignment of the direct-read buffers (a multiple of every common sector size). */
export const DIRECT_ALIGN = 4096;

interface DirectIo {
  getAlignedBuffer(size: number, alignment: number): Buffer;
}

let binding: DirectIo | null | undefined;

/** The aligned-buffer binding, or null where it cannot be loaded (then every read is `cached`). */
function directIo(): DirectIo | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('@ronomon/direct-io') as DirectIo;
    } catch {
      binding = null;
    }
  }
  return binding;
}

/** Whether this platform can read with O_DIRECT at all (the flag exists and the binding loads). */
export function directReadAvailable(): boolean {
  return fsc.O_DIRECT !== undefined && directIo() !== null;
}

/** Errors with which a filesystem refuses O_DIRECT (then the file is read through the cache). */
const REFUSALS = new Set(['EINVAL', 'EOPNOTSUPP', 'ENOTSUP']);

/**
 * How long to wait before reading on, so that `bytesDone` read over `elapsedMs` stays at or below
 * `bytesPerSecond` on average. 0 when there is no limit or the reader is behind its budget.
 */
export function throttleDelayMs(bytesDone: number, elapsedMs: number, bytesPerSecond?: number): number {
  if (!bytesPerSecond || bytesPerSecond <= 0) return 0;
  const due = (bytesDone / bytesPerSecond) * 1000;
  return Math.max(0, Math.ceil(due - elapsedMs));
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Throttle state of one read (or of several files read one after another). */
export class Throttle {
  private readonly start = Date.now();
  private bytes = 0;
  constructor(private readonly bytesPerSecond?: number) {}
  async after(n: number, signal?: AbortSignal): Promise<void> {
    this.bytes += n;
    const ms = throttleDelayMs(this.bytes, Date.now() - this.start, this.bytesPerSecond);
    if (ms > 0) await pause(ms, signal);
  }
}

/**
 * Hash `path` from storage (O_DIRECT), falling back to a read through the page cache where the
 * filesystem refuses direct reads. Raw fs errors other than a refusal (ENOENT, EIO, ...) are thrown
 * unchanged, as by `hashFile`. `throttle` may be shared by the files of one copy.
 */
export async function hashFromStorage(
  path: string,
  opts: StorageReadOptions,
  throttle = new Throttle(opts.bytesPerSecond),
): Promise<StorageHash> {
  throwIfAborted(opts.signal, `reading ${path}`);
  const io = directIo();
  if (fsc.O_DIRECT === undefined || !io) {
    return readAll(path, await open(path, 'r'), 'cached', opts, throttle, 'O_DIRECT is not available here');
  }
  let fh: FileHandle;
  try {
    fh = await (opts.openDirect ?? ((p) => open(p, fsc.O_RDONLY | fsc.O_DIRECT)))(path);
  } catch (err) {
    if (!REFUSALS.has(errnoCode(err) ?? '')) throw err;
    const why = `the filesystem refused O_DIRECT (${errnoCode(err)})`;
    return readAll(path, await open(path, 'r'), 'cached', opts, throttle, why);
  }
  try {
    return await readAll(path, fh, 'direct', opts, throttle);
  } catch (err) {
    // Some filesystems accept the open and refuse the first read (readAll closed the descriptor).
    if (!(err instanceof DirectRefused)) throw err;
    const why = `the filesystem refused O_DIRECT reads (${err.code})`;
    return readAll(path, await open(path, 'r'), 'cached', opts, throttle, why);
  }
}

class DirectRefused extends Error {
  constructor(readonly code: string) {
    super(`O_DIRECT read refused (${code})`);
  }
}

/**
 * Read and hash the whole file through `fh` (closed at the end), two buffers in turn: the next read
 * runs in the thread pool while this chunk is hashed. Direct reads use aligned buffers and stop at the
 * first short read (the end of the file: a direct read at an unaligned offset would fail).
 */
async function readAll(
  path: string,
  fh: FileHandle,
  read: ReadMode,
  opts: StorageReadOptions,
  throttle: Throttle,
  fallback?: string,
): Promise<StorageHash> {
  const hasher = createHasher(opts.algorithm);
  const io = read === 'direct' ? directIo()! : undefined;
  const alloc = () => (io ? io.getAlignedBuffer(CHUNK_BYTES, DIRECT_ALIGN) : Buffer.allocUnsafe(CHUNK_BYTES));
  const bufs = [alloc(), alloc()];
  let pending: Promise<{ bytesRead: number }> | undefined;
  let pos = 0;
  let turn = 0;
  try {
    pending = fh.read(bufs[0]!, 0, CHUNK_BYTES, 0);
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await pending);
      } catch (err) {
        pending = undefined;
        const code = errnoCode(err) ?? '';
        if (io && pos === 0 && REFUSALS.has(code)) throw new DirectRefused(code);
        throw err;
      }
      pending = undefined;
      if (bytesRead === 0) break;
      const cur = bufs[turn]!;
      pos += bytesRead;
      turn ^= 1;
      throwIfAborted(opts.signal, `reading ${path}`);
      if (!io || bytesRead === CHUNK_BYTES) {
        pending = fh.read(bufs[turn]!, 0, CHUNK_BYTES, pos);
        pending.catch(() => {}); // awaited next turn; no unhandled rejection if we throw first
      }
      hasher.update(cur.subarray(0, bytesRead));
      opts.onBytes?.(pos);
      await throttle.after(bytesRead, opts.signal);
      if (!pending) break;
    }
    return { hash: hasher.digest('hex'), size: pos, read, ...(fallback ? { fallback } : {}) };
  } finally {
    // Never close the descriptor under a read still running in the thread pool.
    if (pending) await pending.catch(() => {});
    await fh.close();
  }
}

/**
 * Whether files in `dir` can be read from storage: writes a small probe file (8 KiB, flushed), reads
 * it back with `hashFromStorage`, removes it. `sluice doctor` reports it for the backup path.
 */
export async function probeStorageRead(
  dir: string,
  opts: Pick<StorageReadOptions, 'openDirect'> = {},
): Promise<Pick<StorageHash, 'read' | 'fallback'>> {
  const probe = join(dir, `.sluice-direct-probe-${process.pid}`);
  try {
    await writeFile(probe, randomBytes(8192), { flush: true });
    const r = await hashFromStorage(probe, { algorithm: 'sha256', ...opts });
    return { read: r.read, ...(r.fallback ? { fallback: r.fallback } : {}) };
  } finally {
    await rm(probe, { force: true });
  }
}
