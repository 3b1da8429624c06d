/**
 * The scan's lstat of a folder's names (scan.ts), spread over its filesystem threads in CHUNK-sized
 * batches while the folder is still being listed, the results handed on in name order.
 */

import { offlineError } from '../storage/offline.ts';
import type { FsThread, LstatBatch } from './fs-thread.ts';

/** Names per message to a thread. */
export const CHUNK = 4096;
/** The smallest chunk towards the end of the list. */
const TAIL_CHUNK = 512;

/**
 * lstat of `names` (growing while the folder is listed) in CHUNK-sized batches over the threads;
 * `onBatch` gets each batch's results in order of position, as soon as the ones before it are in.
 */
export class StatPipeline {
  /** While the listing goes on, only full chunks are handed out. */
  private listing = true;
  private next = 0;
  private readonly queued = new Map<FsThread, number>();
  private readonly results = new Map<number, LstatBatch>();
  private unpacked = 0;
  private inFlight = 0;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly root: string,
    private readonly names: string[],
    private readonly onBatch: (start: number, batch: LstatBatch) => void,
  ) {}

  /** The list of names is complete: the rest may go out in a short chunk. */
  listed(): void {
    this.listing = false;
  }

  /** Give `w` work (up to two batches queued); it asks for more itself as each batch comes back. */
  feed(w: FsThread): void {
    while (this.failure === undefined && (this.queued.get(w) ?? 0) < 2) {
      const left = this.names.length - this.next;
      if (left === 0 || (this.listing && left < CHUNK)) return;
      const start = this.next;
      // Once the list is complete, chunks shrink with what is left, so that the threads run out of
      // work at about the same time instead of one finishing a full chunk alone.
      const size = this.listing ? CHUNK : Math.min(CHUNK, Math.max(TAIL_CHUNK, Math.ceil(left / 4)));
      const slice = this.names.slice(start, start + size);
      this.next += slice.length;
      this.queued.set(w, (this.queued.get(w) ?? 0) + 1);
      this.inFlight++;
      w.lstat(this.root, slice).then(
        (r) => {
          this.inFlight--;
          this.queued.set(w, (this.queued.get(w) ?? 1) - 1);
          if ('error' in r) this.fail(offlineError(this.root, r.error));
          else this.arrived(start, r);
          this.feed(w);
          this.wake?.();
        },
        (err: unknown) => {
          this.inFlight--;
          this.fail(err);
          this.wake?.();
        },
      );
    }
  }

  private arrived(start: number, batch: LstatBatch): void {
    this.results.set(start, batch);
    try {
      for (let b = this.results.get(this.unpacked); b; b = this.results.get(this.unpacked)) {
        this.results.delete(this.unpacked);
        const at = this.unpacked;
        this.unpacked += b.out.length / 3;
        this.onBatch(at, b);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err;
  }

  /** Every name stat'ed and handed on (call once the list is complete and fed); throws the first failure. */
  async done(): Promise<void> {
    while (this.inFlight > 0) {
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
