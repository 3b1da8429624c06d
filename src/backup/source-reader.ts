/**
 * The copy's calls on the source (the instrument share: open, fstat, read, close) on a thread of their
 * own, with synchronous calls, instead of libuv's thread pool.
 *
 * Why: a share that stops answering (an NFS or SMB server gone, measured with a FUSE share that stops
 * answering, test/helpers/hangfs.py) blocks the thread in the call until it answers; neither an
 * AbortSignal nor `Worker.terminate()` interrupts it (engine/stall.ts). In the thread pool (4 threads
 * for the whole process) four such reads stopped every other file operation of the process: other
 * copies from healthy shares, scans, the backup target's fsyncs. Here a hung read blocks this thread
 * only; the engine's stall watchdog gives the task up, and the copy returns once the share answers
 * (then the thread closes its descriptor and goes back to the idle pool).
 *
 * Requests are served in order, so `close` after the last `read` never closes a descriptor under a
 * read. Reads go straight into the copy's buffer when it is in shared memory (the large buffers,
 * hash.ts `allocBuffers`); otherwise the thread reads into its own memory and hands it over (small
 * files: one more copy of their few bytes).
 *
 * Cost: a thread takes ~20 ms to start, so readers are reused through an idle pool (as the
 * scan's fs-thread.ts does; sized at MAX_IDLE); a reader whose thread is stuck or failed is never
 * reused. One message
 * round trip per chunk of up to 4 MiB (hash.ts RING_CHUNK_BYTES) is noise next to the hashing.
 */

import { fsPath } from '../core/names.ts';
import { ThreadCalls, type ThreadReply } from './thread-calls.ts';
import { isShared } from './writer.ts';

/** The thread's body, a module beside this one (also when compiled). */
const BODY = new URL('./source-reader-thread-body.mjs', import.meta.url);

interface Reply extends ThreadReply {
  fd?: number;
  size?: number;
  mode?: number;
  atimeNs?: bigint;
  mtimeNs?: bigint;
  n?: number;
  data?: Uint8Array;
}

/** An open source file: its descriptor in the reader's thread and its fstat. */
export interface SourceFile {
  fd: number;
  size: number;
  mode: number;
  atimeNs: bigint;
  mtimeNs: bigint;
}

export class SourceReader {
  private readonly calls = new ThreadCalls<Reply>(BODY, 'the source reader thread', undefined);

  /**
   * Open `path` (a text path, core/names.ts: the thread gets its bytes) for reading and fstat it.
   * Errors carry the errno `code`.
   */
  async open(path: string): Promise<SourceFile> {
    const r = await this.calls.request({ type: 'open', path: fsPath(path) });
    return { fd: r.fd!, size: r.size!, mode: r.mode!, atimeNs: r.atimeNs!, mtimeNs: r.mtimeNs! };
  }

  /** Read up to `len` bytes at `pos` into `buf` (from its start); resolves with the bytes read. */
  async read(fd: number, buf: Buffer, len: number, pos: number): Promise<{ bytesRead: number }> {
    if (isShared(buf)) {
      const m = { type: 'read', fd, memory: buf.buffer, offset: buf.byteOffset, len, pos };
      return { bytesRead: (await this.calls.request(m)).n ?? 0 };
    }
    const r = await this.calls.request({ type: 'read', fd, len, pos });
    if (r.data) buf.set(r.data, 0);
    return { bytesRead: r.n ?? 0 };
  }

  async close(fd: number): Promise<void> {
    await this.calls.request({ type: 'close', fd });
  }

  /** Nothing waiting and the thread alive: may serve another copy. */
  get reusable(): boolean {
    return this.calls.pending === 0 && this.calls.failed === undefined;
  }

  async terminate(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.calls.terminate();
  }

  private idleTimer: NodeJS.Timeout | undefined;

  /** Parked in the idle pool: does not keep the process alive; `onExpire` after `ms` unused. */
  park(ms: number, onExpire: () => void): void {
    this.calls.setRef(false);
    this.idleTimer = setTimeout(onExpire, ms);
    this.idleTimer.unref();
  }

  /** Taken from the idle pool for a copy. */
  unpark(): void {
    clearTimeout(this.idleTimer);
    this.calls.setRef(true);
  }
}

/**
 * Idle readers kept for the next copy (see the module comment). Sized on purpose: each holds a
 * thread of ~9 MB (measured: 8 readers, +71 MB RSS), and at most as many are idle as copies ran at
 * once in this process (a copy pool of 8: 8 × 9 MB = 72 MB, already in use while they copied), up to
 * MAX_IDLE; IDLE_MS after their last copy they end. With 4 kept and a copy pool of 8, every other copy
 * of a small file started a thread (~10 ms CPU each): 12 ms CPU and 22 ms per small file against
 * 5 ms and 7 ms with them kept (500 files, 8 at once, on a busy 2-core machine).
 */
const idle: SourceReader[] = [];
const MAX_IDLE = 16;
const IDLE_MS = 120_000;

/** A reader for one copy's exclusive use. */
export function acquireSourceReader(): SourceReader {
  for (let r = idle.pop(); r; r = idle.pop()) {
    if (r.reusable) {
      r.unpark();
      return r;
    }
    void r.terminate().catch(() => {});
  }
  return new SourceReader();
}

/** Give a reader back after its copy (every request settled). */
export function releaseSourceReader(r: SourceReader): void {
  if (!r.reusable || idle.length >= MAX_IDLE) {
    void r.terminate().catch(() => {});
    return;
  }
  idle.push(r);
  r.park(IDLE_MS, () => {
    const i = idle.indexOf(r);
    if (i >= 0) idle.splice(i, 1);
    void r.terminate().catch(() => {});
  });
}
