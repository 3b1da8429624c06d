/**
 * Copy one file while hashing it: a single read pass over the source.
 *
 * Pipeline over the buffers `bufs` (two, or four for a large file: hash.ts `allocBuffers`), used in
 * turn: while chunk k is written to the temp file and chunk k+1 is read into the next buffer, chunk k
 * is hashed with the recorded algorithm: for a file the writer thread writes, by the hash thread
 * (hash-thread.ts: hashing is the critical path of a large copy), else on this thread. The fast
 * read-back checksum (fastsum.ts, when `fast` is given) is computed by the thread that writes a large
 * file, after writing each chunk, and here for the others. Writes end in the order they were issued.
 * A buffer is reused only after its write (with that checksum) and its hash finished, so the bytes
 * hashed (both digests) are exactly the bytes written. The destination is opened with `wx` (never truncates an existing file). After the last chunk the copy
 * gets its final mode and the source's times, then one `fsync` makes data and metadata durable. To
 * keep that final fsync short the written data is flushed in the background every `FLUSH_EVERY` bytes
 * (`fdatasync` running in the thread pool while copying goes on); each completed flush hands its
 * window to the read-back worker (readback.ts), which re-reads it on another core and computes the
 * same checksum as `check`.
 *
 * The source is opened and read by a thread of its own (source-reader.ts): a read from a hung share
 * then blocks that thread, not libuv's thread pool that the rest of the process needs.
 *
 * Each chunk is written in 64 KiB pieces: for a file of WRITER_MIN_BYTES or more by a worker thread,
 * for the others through the thread pool (writer.ts: large writes are slow on VMs with free page
 * reporting).
 *
 * Buffer size and copy method: 1, 2, 8 and 16 MiB chunks (CHUNK_BYTES) were the same within the noise
 * here; the cost is the hashing and the kernel's page copies, not the calls. `fs.copyFile` would copy
 * in the kernel (copy_file_range) but the source would then have to be read a second time to hash it:
 * twice the reads over a network mount, and the hash would no longer be of the bytes copied. Not used.
 *
 * Crash points: a kill leaves a partial temp file (the caller puts it in `.x.sluice-partial/`); the
 * next attempt's leftover sweep removes it. Nothing here touches the final name.
 */

import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from '../core/text-fs.ts';
import { sourceError, targetError, throwIfAborted, utimeSeconds } from '../storage/fsutil.ts';
import { FAST_ALGORITHM, type FastChecksum, type FastHasher } from './fastsum.ts';
import { type Buffers, CHUNK_BYTES, checkAlgorithm, createHasher } from './hash.ts';
import type { HashThread, ThreadHash } from './hash-thread.ts';
import type { ReadBack, ReadBackFile } from './readback.ts';
import {
  acquireSourceReader,
  releaseSourceReader,
  type SourceFile,
  type SourceReader,
} from './source-reader.ts';
import { isShared, type PieceWriter, WRITER_MIN_BYTES, type WriterFile, writeInPieces } from './writer.ts';

/**
 * Start a background fdatasync after this many bytes were written since the last one; each completed
 * flush lets the read-back worker verify that window.
 */
export const FLUSH_EVERY = 64 * 1024 * 1024;

export interface FileCopyOptions {
  algorithm: string;
  /** Final permission bits of the copy from the source's mode (applied before the fsync). */
  mode: (sourceMode: number) => number;
  signal?: AbortSignal;
  /** Called after each chunk with the bytes of this file copied so far. */
  onBytes?: (bytesDone: number) => void;
  /** For error messages: the target directory and the bytes the whole copy needs. */
  targetDir: string;
  bytesNeeded: number;
  /** Reused buffers (two of the same size, at most CHUNK_BYTES); allocated when absent. */
  bufs?: Buffers;
  /** Reads the copy back on another thread, window by window as it is flushed (readback.ts). */
  readBack: ReadBack;
  /**
   * Opens and reads the source on its own thread, so a hung share blocks that thread and not libuv's
   * thread pool (source-reader.ts); one from the idle pool when absent.
   */
  reader?: SourceReader;
  /** Writes the chunks of files of WRITER_MIN_BYTES or more when `bufs` are shared (writer.ts). */
  writer?: PieceWriter;
  /** Hashes the chunks of the files the writer writes, with `algorithm` (hash-thread.ts). */
  hashThread?: HashThread;
  /**
   * Also compute this fast checksum of the source, and have the read-back compute it of the copy
   * (fastsum.ts). Absent: the read-back uses `algorithm`.
   */
  fast?: FastChecksum;
}

/** What the read-back of a copy must return: a digest of the source's bytes, and its algorithm. */
export interface ReadBackCheck {
  algorithm: string;
  digest: string;
}

/**
 * The operations in flight of one copy: each is awaited before its buffer is reused, and all of them
 * before a descriptor is closed (never close one under an operation still in the thread pool).
 */
interface InFlight {
  reading: Promise<{ bytesRead: number }> | undefined;
  /** The write in progress from each buffer. */
  writes: (Promise<void> | undefined)[];
  /** The hash in progress of each buffer, when the hash thread hashes. */
  hashes: (Promise<void> | undefined)[];
  flushing: Promise<void> | undefined;
  /** The error of a background flush, kept: the final fsync alone could succeed on a broken copy. */
  flushError: unknown;
}

/** What the read loop of one copy works with (see `pump`). */
interface Pump {
  src: string;
  what: string;
  opts: FileCopyOptions;
  reader: SourceReader;
  input: SourceFile;
  out: FileHandle;
  bufs: Buffers;
  /** The writer thread's file, when it writes this one. */
  wf: WriterFile | undefined;
  /** The hash thread's hash, with the writer; else `hasher` on this thread. */
  th: ThreadHash | undefined;
  hasher: Hash;
  /** The fast checksum on this thread (without the writer, when asked for). */
  fast: FastHasher | undefined;
  readBack: ReadBackFile;
  tErr: (err: unknown) => unknown;
  inFlight: InFlight;
}

/**
 * Copy `src` to the new file `dst`; returns the source's hex digest, the bytes copied, and the
 * read-back of the copy, to be `finish`ed by the caller (after any fault-injection hook in tests).
 */
export async function copyFileHashing(
  src: string,
  dst: string,
  opts: FileCopyOptions,
): Promise<{ hash: string; bytes: number; readBack: ReadBackFile; check: ReadBackCheck }> {
  const algorithm = checkAlgorithm(opts.algorithm);
  const hasher = createHasher(algorithm);
  const what = `copy of ${src}`;
  const tErr = (err: unknown) =>
    targetError(err, dst, { dir: opts.targetDir, bytesNeeded: opts.bytesNeeded });
  const bufs: Buffers = opts.bufs ?? [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  throwIfAborted(opts.signal, what);

  const reader = opts.reader ?? acquireSourceReader();
  const input = await reader.open(src).catch((e) => {
    if (!opts.reader) releaseSourceReader(reader);
    throw sourceError(e, src);
  });
  let output: FileHandle | undefined;
  const inFlight: InFlight = {
    reading: undefined,
    writes: [],
    hashes: [],
    flushing: undefined,
    flushError: undefined,
  };
  try {
    const st = input;
    const size = st.size;
    output = await open(dst, 'wx', 0o600).catch((e) => {
      throw tErr(e);
    });
    const out = output;
    // A small file is read back on this thread after the final fsync (readback.ts).
    const readBack = opts.readBack.open(dst, opts.fast ? FAST_ALGORITHM : opts.algorithm, size);
    const byWorker = size >= WRITER_MIN_BYTES && bufs.every(isShared);
    // The worker also takes the fast checksum off this thread (writer.ts).
    const wf = byWorker ? opts.writer?.open(out.fd, opts.fast !== undefined) : undefined;
    const fast = wf ? undefined : opts.fast?.create();
    // With the writer, the hash thread hashes (from the same shared buffers).
    const th = wf ? opts.hashThread?.open(algorithm) : undefined;
    const pos = await pump({
      src,
      what,
      opts,
      reader,
      input,
      out,
      bufs,
      wf,
      th,
      hasher,
      fast,
      readBack,
      tErr,
      inFlight,
    });
    await Promise.all(inFlight.writes);
    await Promise.all(inFlight.hashes);
    if (inFlight.flushing) await inFlight.flushing;
    if (inFlight.flushError) throw tErr(inFlight.flushError);
    await seal(out, st, opts.mode, tErr);
    const hash = th ? await th.digest() : hasher.digest('hex');
    const fastDigest = wf && opts.fast ? await wf.digest() : fast?.digest();
    const check: ReadBackCheck =
      fastDigest === undefined
        ? { algorithm: opts.algorithm, digest: hash }
        : { algorithm: FAST_ALGORITHM, digest: fastDigest };
    return { hash, bytes: pos, readBack, check };
  } finally {
    // Never close a descriptor under an operation still running in the thread pool.
    const { reading, writes, hashes, flushing } = inFlight;
    await Promise.allSettled([reading, ...writes, ...hashes, flushing]);
    await reader.close(input.fd).catch(() => {});
    if (!opts.reader) releaseSourceReader(reader);
    if (output) await output.close().catch(() => {});
  }
}

/**
 * The copy gets its final mode and the source's times, then one `fsync` makes data and metadata
 * durable; an error is the target's.
 */
async function seal(
  out: FileHandle,
  st: SourceFile,
  mode: FileCopyOptions['mode'],
  tErr: (err: unknown) => unknown,
): Promise<void> {
  await out.chmod(mode(Number(st.mode))).catch((e) => Promise.reject(tErr(e)));
  await out.utimes(utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs)).catch((e) => Promise.reject(tErr(e)));
  await out.sync().catch((e) => Promise.reject(tErr(e)));
}

/**
 * The read loop: reads chunk k+1 into the next buffer while chunk k is written and hashed, starts a
 * background flush every FLUSH_EVERY bytes, and returns the bytes read once the source ends. Writes
 * and hashes may still be in flight when it returns (`p.inFlight`).
 */
async function pump(p: Pump): Promise<number> {
  const { src, what, opts, reader, input, out, bufs, wf, th, hasher, fast, readBack, tErr } = p;
  const { writes, hashes } = p.inFlight;
  const inFlight = p.inFlight;
  // Writes end in the order they were issued: the worker takes them in turn; through the thread
  // pool each waits for the one before it (an error then ends the ones after it too).
  let lastWrite: Promise<void> = Promise.resolve();
  const writeChunk = (buf: Buffer, len: number, at: number): Promise<void> => {
    const prev = lastWrite;
    const w = wf ? wf.write(buf, len, at) : prev.then(() => writeInPieces(out, buf, len, at));
    lastWrite = w.then(
      () => {
        written = at + len;
      },
      (e) => {
        throw tErr(e);
      },
    );
    lastWrite.catch(() => {}); // awaited before its buffer is reused and at the end
    return lastWrite;
  };
  let written = 0; // every byte below this offset has been written
  let pos = 0;
  let turn = 0;
  let sinceFlush = 0;
  inFlight.reading = reader.read(input.fd, bufs[0], bufs[0].length, 0);
  for (;;) {
    const n: number = await inFlight.reading.then(
      (r) => r.bytesRead,
      (e) => {
        throw sourceError(e, src);
      },
    );
    inFlight.reading = undefined;
    if (n === 0) break;
    throwIfAborted(opts.signal, what);
    const cur = bufs[turn]!;
    const curTurn = turn;
    turn = (turn + 1) % bufs.length;
    // the next read goes into this buffer: its write and hash must have ended
    await writes[turn];
    await hashes[turn];
    const reading = reader.read(input.fd, bufs[turn]!, bufs[turn]!.length, pos + n);
    inFlight.reading = reading;
    reading.catch(() => {}); // awaited at the top of the loop; no unhandled rejection meanwhile
    writes[curTurn] = writeChunk(cur, n, pos);
    const chunk = cur.subarray(0, n);
    if (th) {
      const hashing = th.update(cur, n);
      hashes[curTurn] = hashing;
      hashing.catch(() => {}); // awaited before its buffer is reused and at the end
    } else hasher.update(chunk);
    fast?.update(chunk);
    pos += n;
    sinceFlush += n;
    if (sinceFlush >= FLUSH_EVERY && !inFlight.flushing) {
      sinceFlush = 0;
      const upTo = written;
      // A background fdatasync consumes a writeback error (Linux reports it once per descriptor),
      // so keep it: the final fsync alone could then succeed on a broken copy.
      inFlight.flushing = out.datasync().then(
        () => {
          inFlight.flushing = undefined;
          readBack.allow(upTo); // flushed: the worker may read it back now
        },
        (e) => {
          inFlight.flushError = e;
          inFlight.flushing = undefined;
        },
      );
    }
    opts.onBytes?.(pos);
  }
  return pos;
}
