/**
 * The stream consumer (issue #21): per configured source, one durable JetStream pull consumer shared by
 * every worker that carries the source's tag (the replicas). A replica fetches at most `max_in_flight`
 * messages at a time (backpressure: it asks for more only when those are acknowledged), evaluates the
 * channels' filters and the compute units in memory (src/streams/units.ts), stores the batch's items,
 * rejections and results in ONE transaction (compute units that failed become `streams.compute` tasks
 * in it), and acknowledges the messages only after that commit. A crash before the ack means
 * redelivery; the item's unique (source, stream sequence) makes the redelivered message add nothing.
 * A message that cannot be stored is redelivered with a delay and dead-lettered after
 * `max_deliveries` (decisions in decide.ts). Started by the worker runtime (src/runtime/run.ts).
 */
import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { InstrumentConfig } from '../core/config/index.ts';
import type { StreamSourceConfig, StreamsConfig } from '../core/config/schema/streams.ts';
import type { Db } from '../core/db/db.ts';
import { errorMessage, PermanentError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { enqueueTasks, Kind } from '../tasks/catalogue.ts';
import { type MessageFate, onArrival, onFailure, parsePayload } from './decide.ts';
import { type DeadLetter, insertDeadLetters, insertItems, insertRejections, insertResults } from './repo.ts';
import { recordSignals, takesSignals } from './signals.ts';
import { type Evaluation, evaluate, type LoadedUnit, loadUnits } from './units.ts';

/** How long one pull waits for messages before asking again (an idle replica's round trip). */
const FETCH_EXPIRES_MS = 1_000;
const RETRY_AFTER_ERROR_MS = 1_000;

export interface StreamsDeps {
  db: Db;
  log: Logger;
  streams: StreamsConfig;
  /** Where unit module paths start (the config file's folder). */
  baseDir: string;
  /** The worker's tags: a source with a `tag` is consumed only by workers carrying it. */
  tags: string[];
  /** Instruments whose `acquisition_done` names a source take its events as signals (signals.ts). */
  instruments?: Record<string, InstrumentConfig>;
  /** Called after each acknowledged batch with when (performance.now()) it was started (the bench). */
  observe?: (acked: JsMsg[], startedAt: number) => void;
}

/** The sources this worker consumes. */
export function sourcesFor(streams: StreamsConfig, tags: string[]): [string, StreamSourceConfig][] {
  return Object.entries(streams.sources).filter(([, s]) => s.tag === undefined || tags.includes(s.tag));
}

/** Starts a consumer per source this worker serves; `stop()` finishes the batch in hand and closes. */
export async function startStreams(deps: StreamsDeps): Promise<{ stop(): Promise<void> }> {
  const mine = sourcesFor(deps.streams, deps.tags);
  if (mine.length === 0) return { stop: async () => undefined };
  const units = await loadUnits(deps.streams, deps.baseDir);
  const started: SourceConsumer[] = [];
  try {
    for (const [name, src] of mine) {
      const c = new SourceConsumer(name, src, units, deps);
      await c.start();
      started.push(c);
    }
  } catch (err) {
    for (const c of started) await c.stop();
    throw err;
  }
  return { stop: async () => void (await Promise.all(started.map((c) => c.stop()))) };
}

interface Planned {
  msg: JsMsg;
  payload: string;
  value: unknown;
  ev: Evaluation;
}

class SourceConsumer {
  private nc?: NatsConnection;
  private stopped = false;
  private loop?: Promise<void>;
  private busy?: Promise<void>;
  private readonly buffer: JsMsg[] = [];
  private readonly log: Logger;
  private wake?: () => void;
  /** The stream's name and creation time: with the stream sequence, a message's identity. */
  private streamId = '';

  constructor(
    private readonly name: string,
    private readonly src: StreamSourceConfig,
    private readonly units: Map<string, LoadedUnit>,
    private readonly deps: StreamsDeps,
  ) {
    this.log = deps.log.child({ source: name, stream: src.stream });
  }

  async start(): Promise<void> {
    try {
      this.nc = await connect({
        servers: this.src.servers,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        name: `sluice:${this.name}`,
      });
    } catch (err) {
      throw new PermanentError(
        'streams.connect',
        `stream source '${this.name}': cannot reach NATS at ${this.src.servers.join(', ')}: ${errorMessage(err)}`,
        'check streams.sources.<name>.servers and that nats-server runs with JetStream (-js)',
        err,
      );
    }
    await this.ensureConsumer(this.nc);
    this.loop = this.run(this.nc);
    this.log.info({ durable: this.src.durable, max_in_flight: this.src.max_in_flight }, 'consuming stream');
  }

  /** Creates the stream (when it has subjects in the config and does not exist) and the durable consumer. */
  private async ensureConsumer(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const s = this.src;
    let info = await jsm.streams.info(s.stream).catch(() => undefined);
    if (!info) {
      if (s.subjects.length === 0) {
        throw new PermanentError(
          'streams.no_stream',
          `stream source '${this.name}': JetStream has no stream '${s.stream}' and no subjects are configured to create it`,
          `create the stream on the NATS side, or set streams.sources.${this.name}.subjects`,
        );
      }
      info = await jsm.streams
        .add({ name: s.stream, subjects: s.subjects })
        .catch(() => jsm.streams.info(s.stream));
    }
    this.streamId = `${s.stream}@${info.created}`;
    const config = {
      durable_name: s.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: s.max_ack_pending,
      ack_wait: s.ack_wait_seconds * 1e9,
      max_deliver: -1, // dead letters are ours (decide.ts), so the server never drops a message
    };
    const has = await jsm.consumers.info(s.stream, s.durable).then(
      () => true,
      () => false,
    );
    if (has)
      await jsm.consumers.update(s.stream, s.durable, {
        max_ack_pending: config.max_ack_pending,
        ack_wait: config.ack_wait,
        max_deliver: -1,
      });
    else
      await jsm.consumers.add(s.stream, config).catch(async (err) => {
        // another replica created it at the same moment
        if (
          !(await jsm.consumers.info(s.stream, s.durable).then(
            () => true,
            () => false,
          ))
        )
          throw err;
      });
  }

  private async run(nc: NatsConnection): Promise<void> {
    const js = jetstream(nc);
    while (!this.stopped) {
      try {
        const consumer = await js.consumers.get(this.src.stream, this.src.durable);
        const iter = await consumer.fetch({
          max_messages: this.src.max_in_flight,
          expires: FETCH_EXPIRES_MS,
        });
        for await (const m of iter) {
          this.buffer.push(m);
          // after the messages of this socket read are buffered too: one batch, not a batch of one
          this.busy ??= new Promise((r) => setImmediate(r)).then(() => this.drain());
        }
        while (this.buffer.length > 0 || this.busy) {
          this.busy ??= this.drain();
          await this.busy;
        }
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: errorMessage(err) }, 'stream fetch failed; trying again');
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, RETRY_AFTER_ERROR_MS);
        });
      }
    }
    await this.busy;
  }

  /** Handles what the buffer holds, batch after batch, until it is empty. */
  private async drain(): Promise<void> {
    try {
      while (this.buffer.length > 0) await this.handleBatch(this.buffer.splice(0));
    } finally {
      this.busy = undefined;
    }
  }

  private async handleBatch(msgs: JsMsg[]): Promise<void> {
    const startedAt = performance.now();
    const plans: Planned[] = [];
    const dead: [JsMsg, DeadLetter][] = [];
    const failed: [JsMsg, string][] = [];
    for (const msg of msgs) {
      const fate = await this.plan(msg, plans);
      if (fate.kind === 'dead_letter') dead.push([msg, this.deadLetter(msg, fate.reason)]);
      else if (fate.kind === 'failed') failed.push([msg, fate.why]);
    }
    try {
      await this.store(plans, dead);
      this.deps.observe?.(
        plans.map((p) => p.msg),
        startedAt,
      );
    } catch (err) {
      if (plans.length + dead.length <= 1) {
        for (const p of plans) failed.push([p.msg, errorMessage(err)]);
        for (const [m, d] of dead)
          failed.push([m, `${d.reason}; storing the dead letter failed: ${errorMessage(err)}`]);
      } else {
        // one bad message must not hold back the others: store them one by one
        for (const p of plans) await this.handleAlone(p, failed);
        for (const d of dead) await this.storeAlone(d, failed);
      }
    }
    for (const [m, why] of failed) await this.failed(m, why);
  }

  /** A message's evaluation, added to `plans`; or why it is not to be stored now. */
  private async plan(msg: JsMsg, plans: Planned[]): Promise<MessageFate | { kind: 'failed'; why: string }> {
    const arrival = onArrival(msg.info.deliveryCount, this.src.max_deliveries);
    if (arrival.kind !== 'process') return arrival;
    const parsed = parsePayload(msg.data);
    if (!parsed.ok) {
      return onFailure(msg.info.deliveryCount, this.src.max_deliveries, {
        message: parsed.reason,
        permanent: true,
      });
    }
    const item = { source: this.name, subject: msg.subject, seq: msg.seq, payload: parsed.value };
    try {
      plans.push({
        msg,
        payload: JSON.stringify(parsed.value),
        value: parsed.value,
        ev: await evaluate(this.deps.streams, this.units, item),
      });
      return arrival;
    } catch (err) {
      return { kind: 'failed', why: `a filter unit failed: ${errorMessage(err)}` };
    }
  }

  private deadLetter(msg: JsMsg, reason: string): DeadLetter {
    return {
      source: this.name,
      stream: this.streamId,
      seq: msg.seq,
      subject: msg.subject,
      data: msg.data,
      deliveries: msg.info.deliveryCount,
      reason,
    };
  }

  /** One transaction for the batch, then the acks (and terms of the dead letters). */
  private async store(plans: Planned[], dead: [JsMsg, DeadLetter][]): Promise<void> {
    if (plans.length === 0 && dead.length === 0) return;
    const fresh = await this.deps.db.tx(async (tx) => {
      const ids = await insertItems(
        tx,
        plans.map((p) => ({
          source: this.name,
          stream: this.streamId,
          seq: p.msg.seq,
          msgId: p.msg.headers?.get('Nats-Msg-Id') || null,
          subject: p.msg.subject,
          payload: p.payload,
          channels: p.ev.channels,
        })),
      );
      const isNew = plans.flatMap((p) => (ids.has(p.msg.seq) ? [{ p, id: ids.get(p.msg.seq)! }] : []));
      const insts = this.deps.instruments ?? {};
      if (takesSignals(insts, this.name)) {
        await recordSignals(
          tx,
          insts,
          this.name,
          isNew.map(({ p }) => ({ seq: p.msg.seq, payload: p.value })),
        );
      }
      await insertRejections(
        tx,
        isNew.flatMap(({ p, id }) => p.ev.rejections.map((r) => ({ itemId: id, ...r }))),
      );
      await insertResults(
        tx,
        isNew.flatMap(({ p, id }) =>
          p.ev.results.map((r) => ({
            itemId: id,
            unit: r.unit,
            version: r.version,
            hash: r.hash,
            result: JSON.stringify(r.result),
          })),
        ),
      );
      await enqueueTasks(
        tx,
        Kind.streamsCompute,
        isNew.flatMap(({ p, id }) =>
          p.ev.deferred.map((d) => ({ subject: `${id}/${d.unit}`, payload: { item: id, unit: d.unit } })),
        ),
      );
      await insertDeadLetters(
        tx,
        dead.map(([, d]) => d),
      );
      return isNew.length;
    });
    for (const p of plans) p.msg.ack();
    for (const [m, d] of dead) {
      m.term(); // (a reason needs nats-server 2.10; 2.9 ignores a +TERM with one)
      this.log.warn(
        { seq: d.seq, subject: d.subject, deliveries: d.deliveries, reason: d.reason },
        'message dead-lettered',
      );
    }
    const seqs = plans.map((p) => p.msg.seq);
    this.log.debug(
      {
        first_seq: Math.min(...seqs),
        last_seq: Math.max(...seqs),
        stored: fresh,
        seen_before: plans.length - fresh,
        dead: dead.length,
      },
      'batch stored and acknowledged',
    );
  }

  private async handleAlone(p: Planned, failed: [JsMsg, string][]): Promise<void> {
    try {
      await this.store([p], []);
    } catch (err) {
      failed.push([p.msg, errorMessage(err)]);
    }
  }

  private async storeAlone(d: [JsMsg, DeadLetter], failed: [JsMsg, string][]): Promise<void> {
    try {
      await this.store([], [d]);
    } catch (err) {
      failed.push([d[0], errorMessage(err)]);
    }
  }

  /** A message that could not be stored: redelivered later, or (after max_deliveries) dead-lettered. */
  private async failed(msg: JsMsg, why: string): Promise<void> {
    const fate = onFailure(msg.info.deliveryCount, this.src.max_deliveries, {
      message: why,
      permanent: false,
    });
    if (fate.kind === 'dead_letter') {
      try {
        await this.store([], [[msg, this.deadLetter(msg, fate.reason)]]);
        return;
      } catch (err) {
        why = `${why}; dead letter not stored: ${errorMessage(err)}`;
      }
    }
    this.nakLater(msg, fate.kind === 'redeliver' ? fate.delayMs : RETRY_AFTER_ERROR_MS, why);
  }

  private nakLater(msg: JsMsg, delayMs: number, why: string): void {
    this.log.warn(
      { seq: msg.seq, deliveries: msg.info.deliveryCount, retry_in_ms: delayMs, err: why },
      'message not stored; redelivered later',
    );
    msg.nak(delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    await this.nc?.drain().catch(() => undefined);
  }
}
