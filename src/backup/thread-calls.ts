/**
 * Replies from a helper thread of the copy (readback.ts, writer.ts), matched to their requests by id.
 *
 * The thread runs a plain JavaScript module (a `*-thread-body.mjs` beside its caller, type-checked
 * from its JSDoc), so it needs no TypeScript loader; it is started by the first `post`. Each reply
 * is `{ id, error? }` plus the caller's fields; an `error` rejects the waiting request with an Error
 * carrying the errno `code` (and `side`, when given), so the usual mapping of file errors applies (fsutil.ts). If the thread
 * dies, every waiting request and every later one is rejected.
 */
import { Worker } from 'node:worker_threads';

export interface ThreadReply {
  id: number;
  /** `side`: which file of a copy failed, `source` or `target` (small-files.ts). */
  error?: { code?: string; message: string; side?: 'source' | 'target' };
}

export class ThreadCalls<R extends ThreadReply> {
  private thread: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private nextId = 0;
  private closed = false;
  /** With `coalesce`: requests made in the current turn of the event loop, not yet posted. */
  private queued: object[] = [];

  /**
   * `body`: the thread's module; `name`: for the error when it exits. `coalesce`: the requests made
   * in one turn of the event loop go to the thread as one message (`{ type: 'seq', items }`, each
   * item a request with its id), and the thread answers them in order with one message
   * (`{ results }`, each a reply as above): one wake-up of each thread for them all, not one per
   * request. The thread's body must know `seq`; callers must then use `request` only.
   */
  constructor(
    private readonly body: URL,
    private readonly name: string,
    private readonly workerData: unknown,
    private readonly coalesce = false,
  ) {}

  /** Whether the thread was started. */
  get started(): boolean {
    return this.thread !== undefined;
  }

  /** Messages posted to the thread so far (`coalesce` sends several requests in one). */
  get posted(): number {
    return this.postedCount;
  }
  private postedCount = 0;

  /** Requests waiting for their reply. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Why the thread is unusable (it failed or exited), if it is. */
  get failed(): Error | undefined {
    return this.failure;
  }

  private get worker(): Worker {
    if (this.thread) return this.thread;
    const worker = new Worker(this.body, {
      execArgv: [], // plain JavaScript: none of the parent's loader flags (tsx would load in the thread)
      workerData: this.workerData,
    });
    this.thread = worker;
    const settle = (r: R) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.error) {
        const { code, side } = r.error;
        w.reject(Object.assign(new Error(r.error.message), { code, ...(side ? { side } : {}) }));
      } else w.resolve(r);
    };
    worker.on('message', (r: R | { results: R[] }) => {
      if ('results' in r) for (const one of r.results) settle(one);
      else settle(r);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error(`${this.name} exited`)));
    return worker;
  }

  /** The reply with this id, once it comes (register before posting the request). */
  expect(id: number): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<R>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    p.catch(() => {}); // observed by the caller later; an early error must not count as unhandled
    return p;
  }

  /**
   * Post `message` with the next id and return its reply (rejected at once if the thread failed).
   * A caller that numbers its own requests (`expect` + `post`) must not use this too.
   */
  request(message: object): Promise<R> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    const id = this.nextId++;
    const reply = this.expect(id);
    if (!this.coalesce) this.post({ ...message, id });
    else if (this.queued.push({ ...message, id }) === 1) {
      this.worker; // started now, as without `coalesce` (a `ping` warms it up), posted to in a moment
      setImmediate(() => this.flush());
    }
    return reply;
  }

  /** Post the requests queued in this turn (`coalesce`): one alone as it is, more as one `seq`. */
  private flush(): void {
    const items = this.queued;
    this.queued = [];
    if (this.failure || this.closed) return; // their waiting requests were (or are being) rejected
    this.post(items.length === 1 ? items[0]! : { type: 'seq', items });
  }

  /** Send a message to the thread, starting it if needed. */
  post(message: object): void {
    this.worker.postMessage(message);
    this.postedCount++;
  }

  /** Whether the thread keeps the process alive (an idle thread in a pool does not). */
  setRef(ref: boolean): void {
    if (ref) this.thread?.ref();
    else this.thread?.unref();
  }

  /** Stop the thread (a request still waiting then rejects, and `request`s after it too). */
  async terminate(): Promise<void> {
    this.closed = true;
    await this.thread?.terminate();
  }
}
