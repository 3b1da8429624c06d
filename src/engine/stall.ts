/**
 * The stall watchdog's decisions (the worker, worker.ts, does the I/O).
 *
 * Why: a copy from a hung instrument share (NFS or SMB whose server stopped answering) blocks in a
 * system call that never returns, while the worker's heartbeats keep the task's lease alive: without
 * a limit the file would wait for ever, and only the `stuck_file` alert would say so. A kind that
 * declares `stallMs` (TaskHandlerDef) reports progress through `ctx.progress()`; after `stallMs`
 * without any, the worker gives the attempt up.
 *
 * What giving up does, in order: abort the task's signal with a SluiceError `task.stalled` (code that
 * still runs stops at its next check); take the task out of the worker's running set at once (it no
 * longer holds a slot or gets heartbeats, so the worker claims other work meanwhile); put the task
 * back in the queue with backoff in one fenced statement, the handler's `onRetry` noting why in the
 * same transaction (the file's timeline says "no progress reading … for 300 s"). The lease is
 * released by that statement, so any worker may retry it after the backoff.
 *
 * A stall does not count as an attempt: a share that hangs for a weekend must not use up a file's
 * attempts and end it in `error` (it is an environmental condition, like an offline instrument, and
 * the file goes on once the share answers). Its backoff grows with the number of stalls of this task
 * (kept in the payload as `stalls`), up to the engine's cap (10 min), so a hung share costs one
 * attempt per ~(stall limit + 10 min), and the `stuck_file` alert still fires for a file that does
 * not move.
 *
 * What cannot be done: the system call itself cannot be interrupted (measured here on a FUSE share
 * that stops answering, test/helpers/hangfs.py: the reading thread sits in uninterruptible sleep,
 * `D` state, until the share answers). Neither `AbortSignal` nor `Worker.terminate()` stops it:
 * `terminate()` does not resolve while the thread is in the call, and `process.exit()` does not
 * return either (the process waits for its threads; only SIGKILL ends it). The handler's promise may
 * therefore stay pending for as long as the share hangs; the worker counts such tasks as *stuck*
 * until their promise settles. What matters is where the blocked call sits:
 * - in libuv's thread pool (every `fs.promises` call; 4 threads by default): measured, with 4 calls
 *   that block pending (`open` of named pipes without a writer, which block the same way), an
 *   `fs.stat` of an unrelated local folder never answered: every copy,
 *   scan and log rotation of the process stalls. Sluice therefore reads instrument data on its own
 *   threads with synchronous calls (the scan's fs-thread.ts, the copy's source reader
 *   backup/source-reader.ts, the small-file copier), where a hung call blocks only that thread;
 * - in a worker thread: measured, with 4 threads stuck, the same `fs.stat` answered in 1 ms.
 * A task whose earlier attempt is still stuck in this worker is not run again here (it goes back to
 * the queue as another stall): a new attempt would hang on the same share and hold one more thread.
 * A worker with `maxStuck` (default 8) stuck tasks stops claiming the kinds that have a stall limit
 * (the ones that touch shares): each stuck task holds a thread and its buffers (up to 4 × 8 MiB for a
 * large file), and some metadata calls of a copy (`lstat` and `readdir` of the source, the duplicate
 * check's read of an earlier twin) still go through the pool, so piling up more would take the process
 * down. It keeps running the other kinds, and logs the stuck tasks as an error (`Worker.stuckTasks`);
 * `sluice status` does not show them yet.
 */
import { SluiceError } from '../core/errors.ts';
import { backoffMs } from './backoff.ts';

/** What the watchdog knows of a running task. */
export interface Watched {
  stallMs: number | undefined;
  /** When the task last reported progress (or started). */
  lastProgress: number;
}

/** Whether a task that reported progress last at `w.lastProgress` counts as stalled at `now`. */
export function isStalled(w: Watched, now: number): boolean {
  return w.stallMs !== undefined && w.stallMs > 0 && now - w.lastProgress >= w.stallMs;
}

/** The error an attempt is given up with; `doing` is what the task last said it was doing. */
export function stallError(stallMs: number, doing: string | undefined): SluiceError {
  const s = Math.round(stallMs / 100) / 10;
  return new SluiceError(
    'task.stalled',
    `no progress${doing ? ` ${doing}` : ''} for ${s} s: the share may be hung; the attempt was given up and is retried`,
    {
      hint: 'check that the instrument share (or the backup target) answers, e.g. `ls` or `stat` on it from this host; Sluice retries on its own once it does',
    },
  );
}

/** Backoff before the retry after the `stalls`-th stall of a task (not counted as an attempt). */
export function stallRetryMs(stalls: number, baseMs: number, random?: () => number): number {
  return backoffMs(stalls, baseMs, undefined, random);
}

/** A stalled task whose handler has not returned yet. */
export interface StuckTask {
  taskId: string;
  kind: string;
  subject: string | null;
  /** What it was doing when it stalled. */
  doing?: string;
  since: Date;
}
