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
import { parseConfigText } from '../src/core/config/index.ts';
import { configHash } from '../src/streams/decide.ts';
import type { StreamsOverview } from '../src/streams/overview.ts';
import { recordReactionRun } from '../src/streams/reactions-repo.ts';
import { insertDeadLetters, insertItems, insertRejections, insertResults } from '../src/streams/repo.ts';
import { enqueueTask, Kind } from '../src/tasks/catalogue.ts';
import { type ApiHarness, call, createApiHarness } from './helpers/api.ts';
import { requireChromium, withDashboardPage } from './helpers/browser.ts';
import { type NatsServer, startNats } from './helpers/nats.ts';

const nats = await startNats();
const chromiumPath = requireChromium();

describe.skipIf(!nats)('the streams API', () => {
  const server = nats as NatsServer;
  let h: ApiHarness;
  let app: ApiHarness['app'];
  /** Stream sequence → item id of the three items stored in beforeAll. */
  let itemIds: Map<number, string>;

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
      itemIds = ids;
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
      // unit failures: two items whose compute task waits to retry, one given up; a failed reaction run
      for (const item of ['7', '8', '9'])
        await enqueueTask(tx, Kind.streamsCompute, `${item}/twice`, { item, unit: 'twice' });
      await tx.exec(
        `update tasks set attempts = 1, last_error = 'boom', state = case when subject = '9/twice' then 'failed' else state end
          where kind = 'streams.compute'`,
      );
      await recordReactionRun(tx, {
        reaction: 'morning',
        period: 'p1',
        unit: 'webhook',
        unit_version: 'builtin-1',
        config_hash: 'h',
        selected: null,
        cursor_item: null,
        status: 'failed',
        result: undefined,
        error: 'HTTP 500',
        started_at: new Date(),
      });
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
    expect(o.failures).toEqual([
      { unit: 'twice', kind: 'compute_retrying', n: 2 },
      { unit: 'twice', kind: 'compute_failed', n: 1 },
      { unit: 'morning', kind: 'reaction_failed', n: 1 },
    ]);
    expect(o.outbox).toMatchObject({
      configured: true,
      enabled: false,
      pending: 0,
      stream: 'SLUICE_EVENTS',
      last_published_at: null,
    });
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
    expect(text).toContain('sluice_unit_failures{unit="twice",kind="compute_retrying"} 2');
    expect(text).toContain('sluice_unit_failures{unit="twice",kind="compute_failed"} 1');
    expect(text).toContain('sluice_unit_failures{unit="morning",kind="reaction_failed"} 1');
    expect(text).toContain('sluice_outbox_pending 0');
  });

  describe.skipIf(!chromiumPath)('the streams page in Chromium', () => {
    it('shows each source with its lag and dead letters, the units and the dead letters with reason', async () => {
      await withDashboardPage(app, chromiumPath!, 'viewer', async (page) => {
        await page.getByRole('link', { name: 'Streams' }).click();
        const lims = page.getByRole('table', { name: 'Stream sources' }).getByRole('row', { name: /^lims / });
        await lims.waitFor();
        expect((await lims.innerText()).replace(/\s+/g, ' ')).toMatch(/^lims 3 3 \/ 3 5 0 0 1$/);
        const unit = page.getByRole('table', { name: 'Units' }).getByRole('row', { name: /^twice / });
        expect((await unit.innerText()).replace(/\s+/g, ' ')).toContain('twice compute');
        const dead = page.getByRole('table', { name: 'Dead letters' }).getByRole('row', { name: /^lims / });
        expect(await dead.innerText()).toContain('not JSON: Unexpected token');
        await page.getByText('Waiting to be published').waitFor();
      });
    });

    it('the items page: the list with channels and counts, an item with its result history and rejections', async () => {
      // a unit config change later: a second result of item 2 beside the first (history kept)
      const [i1, i2] = [itemIds.get(1)!, itemIds.get(2)!];
      const [h2, h3] = [configHash({ k: 2 }), configHash({ k: 3 })];
      await insertResults(h.db, [{ itemId: i2, unit: 'twice', version: '2', hash: h3, result: '{"v":60}' }]);
      await withDashboardPage(app, chromiumPath!, 'viewer', async (page) => {
        await page.getByRole('link', { name: 'Items', exact: true }).click();
        const list = page.getByRole('table', { name: 'Stream items' });
        const row = (id: string) => list.getByRole('row', { name: new RegExp(`^${id} `) });
        await row(i2).waitFor();
        const text = async (id: string) => (await row(id).innerText()).replace(/\s+/g, ' ').trim();
        // item, source, seq, subject, channels, results, rejections, received
        expect(await text(i2)).toMatch(new RegExp(`^${i2} lims 2 lims.ev hot 2 0 `));
        expect(await text(i1)).toMatch(new RegExp(`^${i1} lims 1 lims.ev — 0 1 `));
        expect(await list.getByRole('row').count()).toBe(4); // the header and three items

        await row(i2).getByRole('link', { name: i2 }).click();
        await page.getByRole('heading', { name: `Item ${i2}` }).waitFor();
        expect(await page.locator('pre.payload').innerText()).toContain('"t": 20');
        const history = page
          .getByRole('table', { name: 'Results (history)' })
          .getByRole('row', { name: /^twice / });
        await history.first().waitFor();
        const rows = (await history.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
        expect(rows).toHaveLength(2);
        expect(rows[0]).toMatch(new RegExp(`^twice 1 ${h2} \\{\\} `));
        expect(rows[1]).toMatch(new RegExp(`^twice 2 ${h3} \\{"v":60\\} `));
        expect(await page.getByRole('heading', { name: 'Rejected by' }).count()).toBe(0);

        await page.getByRole('link', { name: '← Items' }).click();
        await row(i1).getByRole('link', { name: i1 }).click();
        const rejected = page.getByRole('table', { name: 'Rejected by' }).getByRole('row', { name: /^hot / });
        expect((await rejected.innerText()).replace(/\s+/g, ' ')).toContain(
          'hot field builtin-1 t: expected gt 10, found 10',
        );
        expect(await page.getByRole('table', { name: 'Results (history)' }).getByRole('row').count()).toBe(1);
      });
    });
  });
});
