/**
 * The streams API (issue #21): `GET /api/streams` (per source items, rates, lag/unacknowledged/
 * redelivered from a real nats-server, dead letters, rejections; units; the outbox), `GET
 * /api/streams/dead-letters`, the per-stream and per-unit Prometheus series on `/metrics`, and the
 * dashboard's streams page in real Chromium.
 */
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { startServer } from '../src/api/server.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { silentLogger } from '../src/core/log.ts';
import { configHash } from '../src/streams/decide.ts';
import type { StreamsOverview } from '../src/streams/overview.ts';
import { insertDeadLetters, insertItems, insertRejections, insertResults } from '../src/streams/repo.ts';
import { type ApiHarness, call, createApiHarness, PASSWORD } from './helpers/api.ts';
import { buildDashboardIfStale, launchChromium, requireChromium } from './helpers/browser.ts';
import { type NatsServer, startNats } from './helpers/nats.ts';
import { patient } from './helpers/patience.ts';

const nats = await startNats();
const chromiumPath = requireChromium();

describe.skipIf(!nats)('the streams API', () => {
  const server = nats as NatsServer;
  let h: ApiHarness;
  let app: ApiHarness['app'];

  beforeAll(async () => {
    h = await createApiHarness();
    const root = path.dirname(h.cliEnv.SLUICE_CONFIG!);
    const yaml = `data_dir: ${root}/data
streams:
  sources:
    lims: { servers: [${server.url}], stream: LIMS }
  channels:
    hot: { filters: [{ field: t, op: gt, value: 10 }] }
  units:
    twice: { kind: compute, module: ./twice.mjs, config: { k: 2 } }
  publish: { servers: [${server.url}], subject_prefix: site }
`;
    const config = parseConfigText(yaml, path.join(root, 'sluice.yaml')).config;
    app = createApp({ ...h.deps, config });
    // five messages on the stream, none consumed yet: lag 5
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LIMS', subjects: ['lims.>'] });
    await jsm.consumers.add('LIMS', { durable_name: 'sluice', ack_policy: AckPolicy.Explicit });
    for (let i = 0; i < 5; i++) await jetstream(nc).publish('lims.ev', JSON.stringify({ t: i }));
    await nc.close();
    // three items stored earlier (one rejected, two with results) and a dead letter
    await h.db.tx(async (tx) => {
      const ids = await insertItems(
        tx,
        [1, 2, 3].map((seq) => ({
          source: 'lims',
          stream: 'LIMS@x',
          seq,
          msgId: null,
          subject: 'lims.ev',
          payload: JSON.stringify({ t: seq * 10 }),
          channels: seq === 1 ? [] : ['hot'],
        })),
      );
      const hash = configHash({ k: 2 });
      await insertRejections(tx, [
        {
          itemId: ids.get(1)!,
          channel: 'hot',
          unit: 'field',
          version: 'builtin-1',
          hash: 'x',
          reason: 't: expected gt 10, found 10',
        },
      ]);
      await insertResults(
        tx,
        [2, 3].map((s) => ({ itemId: ids.get(s)!, unit: 'twice', version: '1', hash, result: '{}' })),
      );
      await insertDeadLetters(tx, [
        {
          source: 'lims',
          stream: 'LIMS@x',
          seq: 4,
          subject: 'lims.ev',
          data: Buffer.from('not json'),
          deliveries: 1,
          reason: 'not JSON: Unexpected token',
        },
      ]);
    });
  });
  afterAll(async () => {
    await h.close();
    await server.stop();
  });

  it('GET /api/streams: sources with lag from NATS, rates, dead letters, rejections; units; outbox', async () => {
    const res = await call(app, '/api/streams', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const o = (await res.json()) as StreamsOverview;
    expect(o.sources).toEqual([
      {
        source: 'lims',
        stream: 'LIMS',
        items: 3,
        dead_letters: 1,
        last_seq: 3,
        lag: 5,
        unacknowledged: 0,
        redelivered: 0,
        items_last_5m: 3,
        items_last_1h: 3,
        rejections: [{ channel: 'hot', unit: 'field', n: 1 }],
      },
    ]);
    expect(o.units).toEqual([
      { name: 'twice', kind: 'compute', config_hash: configHash({ k: 2 }), results: 2, rejections: 0 },
    ]);
    expect(o.outbox).toMatchObject({ configured: true, enabled: false, pending: 0, stream: 'SLUICE_EVENTS' });
    expect((await call(app, '/api/streams')).status).toBe(401);
  });

  it('GET /api/streams/dead-letters: the reason and the bytes; a bad limit is refused naming it', async () => {
    const res = await call(app, '/api/streams/dead-letters?source=lims', { token: h.tokens.viewer });
    expect(await res.json()).toEqual([
      expect.objectContaining({
        source: 'lims',
        stream_seq: 4,
        data: 'not json',
        reason: 'not JSON: Unexpected token',
      }),
    ]);
    const bad = await call(app, '/api/streams/dead-letters?limit=0', { token: h.tokens.viewer });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('limit');
  });

  it('/metrics: per source and per unit series, and the outbox', async () => {
    const text = await (await call(app, '/metrics', { token: h.tokens.viewer })).text();
    expect(text).toContain('sluice_stream_items{source="lims"} 3');
    expect(text).toContain('sluice_stream_lag{source="lims"} 5');
    expect(text).toContain('sluice_stream_dead_letters{source="lims"} 1');
    expect(text).toContain('sluice_stream_rejections{source="lims",channel="hot",unit="field"} 1');
    expect(text).toContain('sluice_stream_unit_results{unit="twice"} 2');
    expect(text).toContain('sluice_outbox_pending 0');
  });

  describe.skipIf(!chromiumPath)('the streams page in Chromium', () => {
    it('shows each source with its lag and dead letters, the units and the dead letters with reason', async () => {
      buildDashboardIfStale();
      const web = await startServer(app, { host: '127.0.0.1', port: 0, log: silentLogger });
      const browser = await launchChromium(chromiumPath!);
      try {
        const page = await browser.newPage({ baseURL: web.url });
        page.setDefaultTimeout(patient(30_000));
        await page.goto('/');
        await page.getByLabel('User name').fill('viewer');
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('link', { name: 'Streams' }).click();
        const lims = page.getByRole('table', { name: 'Stream sources' }).getByRole('row', { name: /^lims / });
        await lims.waitFor();
        expect((await lims.innerText()).replace(/\s+/g, ' ')).toMatch(/^lims 3 3 \/ 3 5 0 0 1$/);
        const unit = page.getByRole('table', { name: 'Units' }).getByRole('row', { name: /^twice / });
        expect((await unit.innerText()).replace(/\s+/g, ' ')).toContain('twice compute');
        const dead = page.getByRole('table', { name: 'Dead letters' }).getByRole('row', { name: /^lims / });
        expect(await dead.innerText()).toContain('not JSON: Unexpected token');
        await page.getByText('Waiting to be published').waitFor();
      } finally {
        await browser.close();
        await web.close();
      }
    });
  });
});
