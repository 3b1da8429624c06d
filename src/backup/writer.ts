/**
 * How a copy's bytes are written: in pieces of WRITE_PIECE_BYTES, and for large files on a worker
 * thread.
 *
 * Why pieces: Linux sizes the page-cache folios of a buffered write by the length of the write call.
 * One 8 MiB `write()` fills 2 MiB folios, and those can only come from free blocks of 2 MiB or more.
 * On a virtual machine with free page reporting (virtio-balloon: Firecracker, QEMU/KVM, most cloud
 * hosts) exactly those blocks are handed back to the host while they are free, and the first touch of
 * each of their pages then traps to the host. Measured on the VM Sluice is developed on, 1 GiB after a
 * 3 s pause: `dd bs=8M` and `dd bs=1M` 2.7 s, `dd bs=64K` 0.55 s, `cp` 0.53 s (the kernel copies in
 * 64 KiB pieces); the verified copy 2.5 s with 8 MiB writes, 1.0 s with 64 KiB pieces, and 128 KiB
 * pieces were still slowed. On a host without page reporting the piece size makes no difference.
 *
 * Why a worker: a file of 1 GiB is 16,384 pieces. As separate requests to libuv's thread pool they
 * cost the main thread (which hashes the source: the copy's critical path) one callback each, and
 * pieces written concurrently contend for the file's inode lock. `PieceWriter` hands each chunk to one
 * worker thread, which writes its pieces one after another with `writeSync` straight from the copy's
 * buffer; the buffers are therefore shared memory (`hash.ts` `allocBuffers`). Smaller files, or
 * buffers that are not shared, are written by `writeInPieces` through the thread pool.
 *
 * Crash points: the worker only writes to the descriptor it is given (the copy's temp file); a kill
 * leaves a partial temp file, which the next attempt's leftover sweep removes, as before. The caller
 * awaits every write before it closes that descriptor, and `close` terminates the worker.
 */
import type { FileHandle } from 'node:fs/promises';
import { fastWorkerData } from './fastsum.ts';
import { ThreadCalls, type ThreadReply } from './thread-calls.ts';

/** Length of each write call (see above: larger writes are slow on VMs with free page reporting). */
export const WRITE_PIECE_BYTES = 64 * 1024;

/**
 * Files from this size on are written by the worker thread; smaller ones through the thread pool.
 * Starting a worker costs ~20 ms; below this size the pieces are few.
 */
export const WRITER_MIN_BYTES = 8 * 1024 * 1024;

/** The thread's body, a module beside this one (also when compiled). */
const BODY = new URL('./writer-thread-body.mjs', import.meta.url);

interface Reply extends ThreadReply {
  digest?: string;
}

/** A file being written by the worker; see `PieceWriter.open`. */
export interface WriterFile {
  /** Write `len` bytes of `buf` at `pos`; `buf` must not change until the promise settles. */
  write(buf: Buffer, len: number, pos: number): Promise<void>;
  /**
   * The fast checksum (FAST_ALGORITHM) of every byte written, in file order. Call once, at the end
   * (a file that failed keeps its checksum state in the worker until `close`).
   */
  digest(): Promise<string>;
}

/** Whether a worker thread can write from `buf` (its memory is a SharedArrayBuffer). */
export function isShared(buf: Buffer): boolean {
  return buf.buffer instanceof SharedArrayBuffer;
}

/** Write `len` bytes of `buf` at `pos` in pieces, through libuv's thread pool. */
export async function writeInPieces(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const { bytesWritten } = await fh.write(buf, off, Math.min(WRITE_PIECE_BYTES, len - off), pos + off);
    if (bytesWritten === 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    off += bytesWritten;
  }
}

/** One worker thread writing chunks in pieces; started by the first `write`, stopped by `close`. */
export class PieceWriter {
  private readonly calls = new ThreadCalls<Reply>(BODY, 'the copy writer thread', fastWorkerData());
  private nextFile = 0;

  /**
   * Write a file through the worker, from buffers in shared memory (see `isShared`), to the open
   * descriptor `fd`. With `hash` the worker also computes the fast checksum (fastsum.ts) of the bytes
   * it writes, after writing them, so the thread that hashes the source with the recorded algorithm
   * does not have to.
   */
  open(fd: number, hash: boolean): WriterFile {
    const file = this.nextFile++;
    return {
      write: async (buf, len, pos) => {
        if (!isShared(buf)) throw new TypeError('PieceWriter needs a buffer in shared memory');
        const { buffer, byteOffset } = buf;
        const m = { type: 'write', file, fd, memory: buffer, offset: byteOffset, len, pos, hash };
        await this.calls.request({ ...m, piece: WRITE_PIECE_BYTES });
      },
      digest: async () => (await this.calls.request({ type: 'digest', file })).digest ?? '',
    };
  }

  /** Stop the worker. Call after every write settled (a write still pending then rejects). */
  async close(): Promise<void> {
    await this.calls.terminate();
  }
}
