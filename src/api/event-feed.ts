/**
 * Reading the event log in id order without skipping anything, for the live stream.
 *
 * Event ids come from a sequence, so they are handed out in insert order but become visible in
 * commit order: id 41 may commit after id 42. A reader that just remembers "the last id I sent"
 * would then skip 41 for ever. So the reader stops at a gap in the ids and waits:
 *
 *   next id is cursor + 1                  → deliver it, move on
 *   a gap (cursor + 1 not visible yet)     → wait, while the gap may still fill:
 *       - it was first seen less than `minWaitMs` ago (its transaction may not have written yet), or
 *       - a transaction that was running when the gap was first seen is still running
 *         (up to `maxWaitMs`: a session left idle in a transaction must not stall the stream)
 *   otherwise the id was rolled back        → skip it
 *
 * The rows and the list of running transactions come from one statement, so they see the same
 * snapshot. The cursor walks over all events; only `subject_type = 'file'` ones are returned.
 */
import type { Queryable } from '../core/db/db.ts';
import { eventsAfter, type FeedEvent } from '../engine/events.ts';

export interface FeedState {
  cursor: bigint;
  gap?: { at: bigint; since: number; running: Set<string> };
}

export async function readFeed(
  q: Queryable,
  state: FeedState,
  opts: { batch?: number; minWaitMs?: number; maxWaitMs?: number; now?: number } = {},
): Promise<FeedEvent[]> {
  const now = opts.now ?? Date.now();
  const { running, events } = await eventsAfter(q, state.cursor, opts.batch ?? 500);
  const out: FeedEvent[] = [];
  for (const e of events) {
    const id = BigInt(e.id);
    if (id !== state.cursor + 1n) {
      const gap = state.gap;
      if (!gap || gap.at !== state.cursor + 1n) {
        state.gap = { at: state.cursor + 1n, since: now, running };
        break;
      }
      const age = now - gap.since;
      const mayFill = [...gap.running].some((x) => running.has(x));
      if (age < (opts.minWaitMs ?? 2000) || (mayFill && age < (opts.maxWaitMs ?? 60_000))) break;
    }
    state.cursor = id;
    state.gap = undefined;
    if (e.subject_type === 'file') out.push(e);
  }
  return out;
}

/** One live stream's view of the feed: the events after its own cursor, in order. */
export interface FeedSubscription {
  /**
   * The next events after this subscription's cursor; [] after `waitMs` without any, or once closed.
   * Throws when its own catch-up read fails (the stream then ends and the client resumes).
   */
  next(waitMs: number): Promise<FeedEvent[]>;
  close(): void;
}

/**
 * One reader of the event log per process, shared by every live stream: with N dashboards open, one
 * query per poll instead of N. A stream that starts behind the shared cursor (it resumes after an
 * older Last-Event-ID) catches up with reads of its own, then joins; a stream is never handed an
 * event at or before its own cursor, so joining ahead of the shared cursor skips nothing and repeats
 * nothing. The hub polls only while streams are live, and a failed poll is logged and tried again.
 */
export class FeedHub {
  private state: FeedState | undefined;
  private readonly live = new Set<LiveSub>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly q: Queryable,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  subscribe(cursor: bigint): FeedSubscription {
    const own: FeedState = { cursor };
    const sub: LiveSub = { cursor, queue: [], wake: undefined, closed: false };
    const hub = this;
    return {
      async next(waitMs) {
        if (sub.closed) return [];
        if (!hub.live.has(sub)) {
          // catching up on our own until we reach the shared cursor
          const events = await readFeed(hub.q, own);
          sub.cursor = own.cursor;
          if (sub.closed) return [];
          if (events.length > 0) return events;
          if (hub.state && own.cursor < hub.state.cursor) {
            await hub.sleep(sub, Math.min(waitMs, hub.pollMs));
            return [];
          }
          hub.join(sub, own);
        }
        if (sub.queue.length === 0) await hub.sleep(sub, waitMs);
        return sub.queue.splice(0);
      },
      close() {
        sub.closed = true;
        hub.live.delete(sub);
        sub.wake?.();
        if (hub.live.size === 0) hub.stop();
      },
    };
  }

  /** Synchronous, so no poll result lands between the cursor check and joining. */
  private join(sub: LiveSub, own: FeedState): void {
    if (!this.state) this.state = { cursor: own.cursor, ...(own.gap ? { gap: own.gap } : {}) };
    this.live.add(sub);
    if (!this.timer) this.schedule(this.pollMs);
  }

  /** The open streams keep the process alive, not this timer. */
  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private sleep(sub: LiveSub, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        sub.wake = undefined;
        resolve();
      }
      sub.wake = done;
    });
  }

  private async poll(): Promise<void> {
    const state = this.state;
    if (!state) return;
    let more = false;
    try {
      const events = await readFeed(this.q, state);
      // every stream left meanwhile (and maybe new ones started their own loop): this one ends
      if (this.state !== state) return;
      more = events.length > 0;
      for (const sub of this.live) {
        for (const e of events) if (BigInt(e.id) > sub.cursor) sub.queue.push(e);
        if (state.cursor > sub.cursor) sub.cursor = state.cursor;
        if (sub.queue.length > 0) sub.wake?.();
      }
    } catch (err) {
      this.onError(err);
    } finally {
      if (this.state === state) {
        this.timer = undefined;
        // a full batch may have more behind it: read again at once
        if (this.live.size > 0) this.schedule(more ? 0 : this.pollMs);
      }
    }
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = undefined;
  }
}

interface LiveSub {
  cursor: bigint;
  queue: FeedEvent[];
  wake: (() => void) | undefined;
  closed: boolean;
}
