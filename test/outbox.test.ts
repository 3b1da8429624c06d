/**
 * Sluice's own events out (issue #21) on a real nats-server and real `sluice start --role worker`
 * processes: no outbox rows while `streams.publish` is not configured; every file timeline event
 * (single transitions, `transitionMany`, plain timeline entries) gets its row in the transaction that
 * records it and is published with its subject and `Nats-Msg-Id`; a worker killed with SIGKILL between
 * the publish and the mark makes no duplicate (JetStream drops the repeats); nats-server killed and
 * restarted mid-publish loses nothing.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { addToTimeline, transition, transitionMany } from '../src/files/lifecycle.ts';
import { insertFile } from './helpers/api.ts';
import { type NatsServer, type StreamsBed, startNats, streamsBed } from './helpers/nats.ts';
import { waitExit, waitFor } from './helpers/spawn.ts';

const nats = await startNats();

describe.skipIf(!nats)('the outbox of file events on a real nats-server', () => {
  const server = nats as NatsServer;
  let bed: StreamsBed;
  let root: string;
  let db: Db;

  beforeAll(async () => {
    bed = await streamsBed('outbox');
    ({ root, db } = bed);
  });
  afterAll(async () => {
    await bed.close();
    await server.stop();
  });

  async function writeConfig(prefix: string, stream: string, batch = 500): Promise<string> {
    const cfg = path.join(root, `${stream}.yaml`);
    await writeFile(
      cfg,
      `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
streams:
  publish:
    servers: [${server.url}]
    subject_prefix: ${prefix}
    stream: ${stream}
    interval_seconds: 0.1
    batch: ${batch}
`,
    );
    return cfg;
  }

  const worker = (cfg: string, env: Record<string, string> = {}) => bed.worker(cfg, env);

  const pending = async () =>
    Number(
      (await db.one<{ n: string }>('select count(*)::text as n from outbox where published_at is null')).n,
    );

  /** Every message of `stream`: subject, message id and the event id in its body. */
  async function messages(stream: string): Promise<{ subject: string; msgId: string; event: number }[]> {
    const nc = await connect({ servers: server.url });
    try {
      const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
      const out: { subject: string; msgId: string; event: number }[] = [];
      if (total === 0) return out;
      const c = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const iter = await c.consume();
      for await (const m of iter) {
        out.push({
          subject: m.subject,
          msgId: m.headers?.get('Nats-Msg-Id') ?? '',
          event: (m.json() as { event_id: number }).event_id,
        });
        if (out.length === total) break;
      }
      return out;
    } finally {
      await nc.close();
    }
  }

  /** `n` files of instrument `inst`, each moved discovered → acquiring (transitionMany) → acquired, with a timeline entry. */
  async function fileEvents(tag: string, n: number): Promise<void> {
    const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
    for (const id of ids) await insertFile(db, { id, instrument: 'qe1', status: 'discovered' });
    await db.tx(async (tx) => {
      await transitionMany(tx, ids, 'acquiring', { actor: 'test', from: ['discovered'], reason: 'growing' });
      for (const id of ids) {
        await transition(tx, id, 'acquired', { actor: 'test', from: ['acquiring'], reason: 'stable' });
        await addToTimeline(tx, id, 'test', 'a note');
      }
    });
  }

  it('writes no outbox rows while streams.publish is not configured', async () => {
    await fileEvents('off', 3);
    expect(Number((await db.one<{ n: string }>('select count(*)::text as n from outbox')).n)).toBe(0);
  });

  it('publishes every file event once, even when the publisher is killed between publish and mark', async () => {
    const cfg = await writeConfig('site', 'EV1');
    const a = await worker(cfg, { SLUICE_CRASH_AT: 'outbox.published' });
    await fileEvents('k', 100); // 300 events in one transaction: one publishing round
    await waitExit(a);
    expect(a.signalCode).toBe('SIGKILL');
    // published but not marked: the mark was rolled back with the killed worker's transaction
    expect(await pending()).toBe(300);
    expect((await messages('EV1')).length).toBe(300);
    // `sluice streams status` shows the outbox: the switch, what is pending and since when
    const status = async () => {
      const r = await bed.cli(cfg, ['streams', 'status', '--json']);
      expect(r.stderr).toBe('');
      return (JSON.parse(r.stdout) as { outbox: Record<string, unknown> }).outbox;
    };
    const before = await status();
    expect(before).toMatchObject({
      configured: true,
      enabled: true,
      stream: 'EV1',
      pending: 300,
      published: 0,
    });
    expect(before.oldest_pending_seconds).toBeGreaterThanOrEqual(0);
    expect(before.last_published_at).toBeNull();

    const b = await worker(cfg);
    try {
      await waitFor('all published', async () => (await pending()) === 0);
    } finally {
      b.kill('SIGTERM');
      await waitExit(b);
    }
    const after = await status();
    expect(after).toMatchObject({ pending: 0, published: 300, oldest_pending_seconds: null });
    expect(Date.parse(after.last_published_at as string)).toBeGreaterThan(Date.now() - 600_000);
    const text = await bed.cli(cfg, ['streams', 'status']);
    expect(text.stdout).toMatch(
      /outbox: on, to EV1 \(site\.file\.…\); pending 0; published 300 kept, last \d+ s ago/,
    );
    const msgs = await messages('EV1');
    expect(msgs.length).toBe(300); // the second round's 300 were repeats: dropped
    const events = await db.query<{ id: string; to_state: string | null }>(
      `select id::text, to_state from events where subject_type = 'file' and subject_id like 'k-%' order by id`,
    );
    expect(msgs.map((m) => m.event)).toEqual(events.map((e) => Number(e.id)));
    expect(msgs.map((m) => m.msgId)).toEqual(events.map((e) => `site.${e.id}`));
    expect(msgs.map((m) => m.subject)).toEqual(
      events.map((e) => `site.file.qe1.${e.to_state ?? 'timeline'}`),
    );
  });

  it('loses nothing when nats-server is killed and restarted mid-publish', async () => {
    const cfg = await writeConfig('lab', 'EV2', 20);
    const w = await worker(cfg);
    try {
      await fileEvents('r1', 200);
      await waitFor('some published', async () => (await pending()) < 600, 60_000, 10);
      await server.restart();
      await fileEvents('r2', 200);
      await waitFor('all published', async () => (await pending()) === 0, 120_000);
    } finally {
      w.kill('SIGTERM');
      await waitExit(w);
    }
    const msgs = await messages('EV2');
    const ids = msgs.map((m) => m.event);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(1200);
  });
});
