/**
 * Streams (issue #21) on a real nats-server with JetStream and real `sluice start --role worker`
 * processes: items stored once and acknowledged after the commit, filter rejections with their reason,
 * compute results with version and config hash (a failed one retried as a `streams.compute` task),
 * a replica killed with SIGKILL mid-stream (no loss, no duplicate), nats-server restarted mid-stream,
 * poison messages dead-lettered while the stream goes on, and a unit config change (new hash, old
 * results kept).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { configHash } from '../src/streams/decide.ts';
import { sluice } from './helpers/cli.ts';
import {
  type NatsServer,
  publishJson,
  type StreamsBed,
  startNats,
  streamsBed,
  type WorkerProcess,
} from './helpers/nats.ts';
import { waitExit, waitFor } from './helpers/spawn.ts';

const nats = await startNats();

const UNITS = {
  'double.mjs': `let calls = 0;
export default {
  version: '1',
  validate: (c) => (typeof c.factor === 'number' ? [] : ['factor: expected a number']),
  async compute(item, config) {
    calls += 1;
    if (item.payload.slow) await new Promise((r) => setTimeout(r, 3));
    if (item.payload.fail_first && calls === 1) throw new Error('first call fails');
    return { value: item.payload.value * config.factor };
  },
};
`,
  'explode.mjs': `export const unit = {
  version: '2',
  filter(item) {
    if (item.payload.explode) throw new Error('boom');
    return true;
  },
};
`,
};

describe.skipIf(!nats)('streams on a real nats-server', () => {
  const server = nats as NatsServer;
  let bed: StreamsBed;
  let root: string;
  let db: Db;
  let url: string;

  beforeAll(async () => {
    bed = await streamsBed('streams', UNITS);
    ({ root, db, url } = bed);
  });
  afterAll(async () => {
    await bed.close();
    await server.stop();
  });

  /** A config with one source `lims` on `stream`, a channel taking kind=pressure, and the units. */
  async function writeConfig(stream: string, factor = 2): Promise<string> {
    const cfg = path.join(root, `${stream}-${factor}.yaml`);
    await writeFile(
      cfg,
      `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
streams:
  sources:
    lims:
      servers: [${server.url}]
      stream: ${stream}
      subjects: [${stream.toLowerCase()}.>]
      max_in_flight: 50
      max_deliveries: 3
      ack_wait_seconds: 2
  channels:
    pressure:
      filters:
        - { field: kind, op: eq, value: pressure }
        - { unit: explode }
  units:
    explode: { kind: filter, module: ./units/explode.mjs }
    double: { kind: compute, module: ./units/double.mjs, config: { factor: ${factor} } }
`,
    );
    return cfg;
  }

  const worker = (cfg: string) => bed.worker(cfg);
  const stopWorker = (w: WorkerProcess) => bed.stopWorker(w);
  /** Publishes `bodies` to `stream` (created when missing), each with a message id. */
  const publish = (stream: string, bodies: (object | string)[], from = 0) =>
    publishJson(server.url, stream, bodies, { from });

  /** Messages the durable consumer has not had acknowledged yet (pending + unacknowledged). */
  async function outstanding(stream: string): Promise<number> {
    const nc = await connect({ servers: server.url });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info(stream, 'sluice');
      return info.num_pending + info.num_ack_pending;
    } finally {
      await nc.close();
    }
  }

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.one<{ n: string }>(`select count(*)::text as n from (${sql}) t`, params)).n);
  /** Items of stream `s` (subjects `s.…`), and their compute results. */
  const items = (s: string) => count(`select 1 from stream_items where subject like $1`, [`${s}.%`]);
  const results = (s: string) =>
    count(`select 1 from unit_results r join stream_items i on i.id = r.item_id where i.subject like $1`, [
      `${s}.%`,
    ]);

  it('stores each message once with its filter decisions and compute results, then acknowledges it', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => ({
      kind: i % 2 === 0 ? 'pressure' : 'temperature',
      value: i,
      ...(i === 0 ? { fail_first: true } : {}),
    }));
    await publish('S1', bodies);
    const w = await worker(await writeConfig('S1'));
    try {
      await waitFor('40 items', async () => (await items('s1')) === 40);
      await waitFor('all acknowledged', async () => (await outstanding('S1')) === 0);
      // the compute unit failed inline for item value 0; its streams.compute task adds the result
      await waitFor('20 results', async () => (await results('s1')) === 20);
    } finally {
      await stopWorker(w);
    }
    const rejected = await db.query<{ reason: string; unit: string; config_hash: string }>(
      `select d.reason, d.unit, d.config_hash from filter_decisions d join stream_items i on i.id = d.item_id where i.subject like 's1.%'`,
    );
    expect(rejected).toHaveLength(20);
    expect(rejected[0]).toMatchObject({
      unit: 'field',
      reason: 'kind: expected eq "pressure", found "temperature"',
    });
    const rows = await db.query<{
      value: number;
      unit_version: string;
      config_hash: string;
      payload_value: number;
    }>(
      `select (r.result->>'value')::int as value, r.unit_version, r.config_hash, (i.payload->>'value')::int as payload_value
         from unit_results r join stream_items i on i.id = r.item_id where i.subject like 's1.%'`,
    );
    for (const r of rows) {
      expect(r).toMatchObject({
        value: r.payload_value * 2,
        unit_version: '1',
        config_hash: configHash({ factor: 2 }),
      });
    }
    expect(
      await count(`select 1 from stream_items where subject like 's1.%' and channels = '{pressure}'`),
    ).toBe(20);
  });

  it('loses nothing and stores nothing twice when a replica is killed with SIGKILL mid-stream', async () => {
    const N = 3000;
    await publish(
      'S2',
      Array.from({ length: N }, (_, i) => ({ kind: 'pressure', value: i, slow: true })),
    );
    const cfg = await writeConfig('S2');
    const a = await worker(cfg);
    const b = await worker(cfg);
    try {
      await waitFor('a first part stored', async () => (await items('s2')) > 200, 60_000, 20);
      a.kill('SIGKILL');
      await waitExit(a);
      expect(await items('s2')).toBeLessThan(N); // killed mid-stream (each compute takes ≥ 3 ms)
      await waitFor(`${N} items`, async () => (await items('s2')) === N, 120_000);
      await waitFor('all acknowledged', async () => (await outstanding('S2')) === 0, 60_000);
    } finally {
      await stopWorker(b);
    }
    expect(await count(`select distinct stream_seq from stream_items where subject like 's2.%'`)).toBe(N);
    // results have no unique key (history is kept): one per item means no message was stored twice
    expect(await results('s2')).toBe(N);
  });

  it('resumes after nats-server is restarted mid-stream', async () => {
    await publish(
      'S3',
      Array.from({ length: 500 }, (_, i) => ({ kind: 'pressure', value: i })),
    );
    const w = await worker(await writeConfig('S3'));
    try {
      await waitFor('some stored', async () => (await items('s3')) > 0, 60_000, 10);
      await server.restart();
      await publish(
        'S3',
        Array.from({ length: 500 }, (_, i) => ({ kind: 'pressure', value: 500 + i })),
        500,
      );
      await waitFor('1000 items', async () => (await items('s3')) === 1000, 120_000);
      await waitFor('all acknowledged', async () => (await outstanding('S3')) === 0, 60_000);
    } finally {
      await stopWorker(w);
    }
    expect(await results('s3')).toBe(1000);
  });

  it('dead-letters poison messages (not JSON at once; a failing filter after max_deliveries) and goes on', async () => {
    await publish('S4', [
      { kind: 'pressure', value: 1 },
      'not json {',
      { kind: 'pressure', explode: true, value: 2 },
      { kind: 'pressure', value: 3 },
    ]);
    const w = await worker(await writeConfig('S4'));
    try {
      await waitFor(
        'two dead letters',
        async () => (await count(`select 1 from stream_dead_letters where subject like 's4.%'`)) === 2,
        60_000,
      );
      await waitFor('all acknowledged or terminated', async () => (await outstanding('S4')) === 0, 60_000);
    } finally {
      await stopWorker(w);
    }
    const dead = await db.query<{ deliveries: number; reason: string; data: Buffer }>(
      `select deliveries, reason, data from stream_dead_letters where subject like 's4.%' order by stream_seq`,
    );
    expect(dead[0]!.data.toString()).toBe('not json {');
    expect(dead[0]!.deliveries).toBe(1);
    expect(dead[0]!.reason).toMatch(/payload is not JSON/);
    expect(dead[1]!.deliveries).toBe(3);
    expect(dead[1]!.reason).toMatch(/failed 3 deliveries; last: a filter unit failed: boom/);
    expect(await items('s4')).toBe(2);
    // `sluice streams status` shows them (the test's source is named lims in every config)
    const st = await sluice(['streams', 'status', '--json'], {
      env: { DATABASE_URL: url, SLUICE_CONFIG: await writeConfig('S4') },
    });
    expect(st.stderr).toBe('');
    const status = JSON.parse(st.stdout) as {
      sources: {
        source: string;
        stream: string;
        dead_letters: number;
        lag: number;
        unacknowledged: number;
      }[];
      outbox: { configured: boolean; pending: number; last_published_at: string | null };
    };
    const [row] = status.sources;
    expect(row).toMatchObject({ source: 'lims', stream: 'S4', lag: 0, unacknowledged: 0 });
    expect(row!.dead_letters).toBeGreaterThanOrEqual(2);
    // the outbox of events out: not configured here, nothing pending
    expect(status.outbox).toMatchObject({ configured: false, pending: 0, last_published_at: null });
    const text = await sluice(['streams', 'status'], {
      env: { DATABASE_URL: url, SLUICE_CONFIG: await writeConfig('S4') },
    });
    expect(text.stdout).toContain('outbox: off, not configured (streams.publish); pending 0;');
  });

  it('records the new config hash after a unit config change and keeps the old results', async () => {
    await publish(
      'S5',
      Array.from({ length: 5 }, (_, i) => ({ kind: 'pressure', value: i })),
    );
    let w = await worker(await writeConfig('S5', 2));
    await waitFor('5 results', async () => (await results('s5')) === 5);
    await stopWorker(w);
    await publish(
      'S5',
      Array.from({ length: 5 }, (_, i) => ({ kind: 'pressure', value: 5 + i })),
      5,
    );
    w = await worker(await writeConfig('S5', 3));
    try {
      await waitFor('10 results', async () => (await results('s5')) === 10);
    } finally {
      await stopWorker(w);
    }
    const byHash = await db.query<{ config_hash: string; n: number; ok: boolean }>(
      `select r.config_hash, count(*)::int as n,
              bool_and((r.result->>'value')::int = (i.payload->>'value')::int * case when (i.payload->>'value')::int < 5 then 2 else 3 end) as ok
         from unit_results r join stream_items i on i.id = r.item_id where i.subject like 's5.%' group by 1 order by 1`,
    );
    expect(byHash).toHaveLength(2);
    expect(new Set(byHash.map((r) => r.config_hash))).toEqual(
      new Set([configHash({ factor: 2 }), configHash({ factor: 3 })]),
    );
    expect(byHash.every((r) => r.n === 5 && r.ok)).toBe(true);
  });
});
