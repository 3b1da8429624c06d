/**
 * The worker's wake-up line: a dedicated connection (not from the pool) that listens for
 * `sluice_tasks` notifications and calls `onNotify`. When it drops (database restart), the worker
 * keeps polling and this reconnects in the background, a second later, unless the worker is stopping.
 */
import pg from 'pg';
import type { Logger } from '../core/log.ts';

export class WakeListener {
  private client: pg.Client | undefined;
  constructor(
    private readonly url: string,
    private readonly workerId: string,
    private readonly log: Logger,
    private readonly onNotify: () => void,
    /** Whether the worker is stopping: then a lost connection is not made again. */
    private readonly stopping: () => boolean,
  ) {}

  /** Connect and listen (a failure is logged and retried, never thrown). */
  async start(): Promise<void> {
    if (this.stopping()) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `sluice-listen ${this.workerId}`,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopping()) return;
      this.log.warn({ err: err?.message }, 'wake-up connection lost; polling until it is back');
      setTimeout(() => void this.start(), 1000);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', () => this.onNotify());
    try {
      await client.connect();
      await client.query('listen sluice_tasks');
      this.client = client;
    } catch (err) {
      onLost(err as Error);
    }
  }

  /** Close the connection (call once the worker is stopping, so it is not made again). */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * When the claim loop looks again: at once after a wake-up (a notification, a freed slot), even one
 * that came while no one was waiting, else after a timeout.
 */
export class WakeSignal {
  private wake: (() => void) | undefined;
  /** A wake-up that arrived while no one was waiting: the next `wait` returns at once. */
  private pending = false;

  /** Wake the loop now, or at its next wait. */
  poke(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  /** End a wait in progress, if any (stopping). */
  release(): void {
    this.wake?.();
  }

  /** Forget earlier wake-ups: the claim round about to start sees everything committed so far. */
  clear(): void {
    this.pending = false;
  }

  /** Until a wake-up, or `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}
