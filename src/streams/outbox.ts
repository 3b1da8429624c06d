/**
 * Sluice's own events out (issue #21): the outbox publisher. Every file timeline event gets an outbox
 * row in the transaction that records it (a trigger, migration 0023, while `streams.publish` is set);
 * after the commit, one worker at a time takes the oldest unpublished rows, publishes each to JetStream
 * as `<subject_prefix>.file.<instrument>.<to state or timeline>` with `Nats-Msg-Id` =
 * `<subject_prefix>.<event id>`, and marks them published in the same transaction. A crash between the
 * publish and the mark rolls the mark back: the rows are published again, and JetStream drops the
 * repeats as duplicates (same message id within the stream's duplicate window). Published rows are
 * pruned after `keep_published_hours`. Started by the worker runtime (src/runtime/run.ts).
 */
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { PublishConfig } from '../core/config/schema/streams-publish.ts';
import { crashPoint } from '../core/crash.ts';
import type { Db } from '../core/db/db.ts';
import { errorMessage, PermanentError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { markPublished, type OutboxRow, prunePublished, takeUnpublished } from './outbox-repo.ts';

const RETRY_AFTER_ERROR_MS = 2_000;
const PRUNE_EVERY_MS = 60_000;

/** The subject an outbox row is published on (instrument ids and states are valid subject tokens). */
export function outboxSubject(prefix: string, row: Pick<OutboxRow, 'instrument' | 'kind'>): string {
  return `${prefix}.file.${row.instrument ?? '_'}.${row.kind}`;
}

/** The message id JetStream deduplicates on: the same for every attempt to publish one event. */
export function outboxMsgId(prefix: string, eventId: string): string {
  return `${prefix}.${eventId}`;
}

export interface PublisherDeps {
  db: Db;
  log: Logger;
  publish: PublishConfig;
}

/** Connects, creates the stream when missing, and publishes until `stop()`. */
export async function startPublisher(deps: PublisherDeps): Promise<{ stop(): Promise<void> }> {
  const p = new Publisher(deps);
  await p.start();
  return { stop: () => p.stop() };
}

class Publisher {
  private nc?: NatsConnection;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private lastPrune = 0;
  private readonly log: Logger;

  constructor(private readonly deps: PublisherDeps) {
    this.log = deps.log.child({ outbox: deps.publish.stream });
  }

  async start(): Promise<void> {
    const cfg = this.deps.publish;
    try {
      this.nc = await connect({ servers: cfg.servers, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    } catch (err) {
      throw new PermanentError(
        'streams.connect',
        `streams.publish: cannot reach NATS at ${cfg.servers.join(', ')}: ${errorMessage(err)}`,
        'check streams.publish.servers and that nats-server runs with JetStream (-js)',
        err,
      );
    }
    const jsm = await jetstreamManager(this.nc);
    const has = await jsm.streams.info(cfg.stream).then(
      () => true,
      () => false,
    );
    if (!has) {
      await jsm.streams
        .add({
          name: cfg.stream,
          subjects: [`${cfg.subject_prefix}.>`],
          duplicate_window: Math.round(cfg.duplicate_window_seconds * 1e9),
        })
        .catch(() => jsm.streams.info(cfg.stream)); // another worker created it meanwhile
    }
    this.loop = this.run(jetstream(this.nc));
    this.log.info({ prefix: cfg.subject_prefix }, 'publishing file events');
  }

  private async run(js: JetStreamClient): Promise<void> {
    const cfg = this.deps.publish;
    while (!this.stopped) {
      let pause = cfg.interval_seconds * 1000;
      try {
        if ((await this.round(js)) === cfg.batch) pause = 0;
        await this.prune();
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: errorMessage(err) }, 'publishing file events failed; trying again');
        pause = RETRY_AFTER_ERROR_MS;
      }
      if (pause > 0 && !this.stopped) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, pause);
        });
      }
    }
  }

  /** One batch: take, publish (each acknowledged by JetStream), mark, commit. Returns how many. */
  private async round(js: JetStreamClient): Promise<number> {
    const { db, publish: cfg } = this.deps;
    return db.tx(async (tx) => {
      const rows = await takeUnpublished(tx, cfg.batch);
      if (!rows || rows.length === 0) return 0;
      // one connection keeps the order; every publish waits for JetStream's acknowledgement
      const acks = await Promise.all(
        rows.map((r) =>
          js.publish(outboxSubject(cfg.subject_prefix, r), JSON.stringify(r.payload), {
            msgID: outboxMsgId(cfg.subject_prefix, r.event_id),
          }),
        ),
      );
      crashPoint('outbox.published');
      await markPublished(
        tx,
        rows.map((r) => r.event_id),
      );
      const repeats = acks.filter((a) => a.duplicate).length;
      this.log.debug(
        { first: rows[0]!.event_id, last: rows.at(-1)!.event_id, published: rows.length, repeats },
        'file events published',
      );
      return rows.length;
    });
  }

  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const n = await prunePublished(this.deps.db, this.deps.publish.keep_published_hours);
    if (n > 0) this.log.debug({ pruned: n }, 'published outbox rows pruned');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    await this.nc?.drain().catch(() => undefined);
  }
}
