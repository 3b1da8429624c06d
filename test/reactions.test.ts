/**
 * Reactions and re-runs (issue #21) on a real nats-server and real `sluice start --role worker`
 * processes: a webhook reaction on an interval schedule posts the new items to a local HTTP server
 * once (its cursor moves on, the run is recorded with version and config hash), a notify reaction
 * reaches the alert notifiers, a reaction unit's result is recorded; `sluice units rerun` previews,
 * cancels and re-runs a compute unit with a changed config (new hash on the new rows, old rows kept);
 * `sluice items list|show` and `sluice units list` show it all; a QC digest reaction judges the runs
 * of its window and tells the notifiers which one is an outlier.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createToken } from '../src/auth/tokens.ts';
import { createUser } from '../src/auth/users.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { Variables } from '../src/core/variables.ts';
import { configHash } from '../src/streams/decide.ts';
import { call } from './helpers/api.ts';
import { sluice } from './helpers/cli.ts';
import {
  type NatsServer,
  publishJson,
  type StreamsBed,
  startNats,
  streamsBed,
  type WorkerProcess,
} from './helpers/nats.ts';
import { waitFor } from './helpers/spawn.ts';

const nats = await startNats();

const UNITS = {
  'double.mjs': `export default {
  version: '1',
  compute(item, config) {
    if (item.payload.fails) throw new Error('this one always fails');
    return { value: item.payload.value * config.factor };
  },
};
`,
  'tally.mjs': `export default {
  version: 't1',
  validate: (c) => (typeof c.label === 'string' ? [] : ['label: expected a string']),
  react(selection, config) {
    return { label: config.label, n: selection.items.length, ids: selection.items.map((i) => i.id) };
  },
};
`,
};

interface Posted {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

describe.skipIf(!nats)('reactions and re-runs on a real nats-server', () => {
  const server = nats as NatsServer;
  let bed: StreamsBed;
  let root: string;
  let db: Db;
  let url: string;
  let http: Server;
  let hookUrl: string;
  const posted: Posted[] = [];

  beforeAll(async () => {
    bed = await streamsBed('reactions', UNITS);
    ({ root, db, url } = bed);
    http = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => {
        text += d.toString();
      });
      req.on('end', () => {
        posted.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => http.close(r));
    await bed.close();
    await server.stop();
  });

  async function writeConfig(name: string, factor: number, reactions: string): Promise<string> {
    const cfg = path.join(root, `${name}.yaml`);
    await writeFile(
      cfg,
      `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.3 }
alerts:
  interval_seconds: 3600
  notifiers: [{ type: webhook, url: ${hookUrl}/notify }]
streams:
  sources:
    lims: { servers: [${server.url}], stream: R1, subjects: [r1.>], max_in_flight: 50 }
  channels:
    pressure:
      filters: [{ field: kind, op: eq, value: pressure }]
  units:
    double: { kind: compute, module: ./units/double.mjs, config: { factor: ${factor} } }
reactions:
${reactions}
`,
    );
    return cfg;
  }

  const worker = (cfg: string) => bed.worker(cfg);
  const stop = (w: WorkerProcess) => bed.stopWorker(w);
  const cli = async (cfg: string, args: string[]) => {
    const r = await bed.cli(cfg, args);
    if (r.code !== 0) throw new Error(`sluice ${args.join(' ')} → ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  const publish = (bodies: object[], from: number) => publishJson(server.url, 'R1', bodies, { from });

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.one<{ n: string }>(`select count(*)::text as n from (${sql}) t`, params)).n);
  const runs = (reaction: string) =>
    db.query<{
      selected: number;
      status: string;
      unit: string;
      unit_version: string;
      config_hash: string;
      result: Record<string, unknown>;
    }>(
      'select selected, status, unit, unit_version, config_hash, result from reaction_runs where reaction = $1 order by id',
      [reaction],
    );

  const REACTIONS = `  hook:
    every_seconds: 1
    select: { items: { settle_seconds: 1, channels: [pressure], where: [{ field: value, op: gte, value: 5 }] } }
    action: { type: webhook, url: HOOK/hook, headers: { x-token: abc } }
  note:
    every_seconds: 1
    select: { items: { settle_seconds: 1, channels: [pressure] } }
    action: { type: notify, title: new pressure items }
  tally:
    every_seconds: 1
    select: { items: { settle_seconds: 1 } }
    action: { type: unit, module: ./units/tally.mjs, config: { label: all } }`;

  it('runs reactions on their schedule: select → run → record, each item once', async () => {
    const cfg = await writeConfig('a', 2, REACTIONS.replace('HOOK', hookUrl));
    await publish(
      Array.from({ length: 10 }, (_, i) => ({ kind: i < 8 ? 'pressure' : 'temperature', value: i })),
      0,
    );
    const w = await worker(cfg);
    try {
      await waitFor('10 items', async () => (await count('select 1 from stream_items')) === 10);
      // reactions may run before every item is in: wait until every item has been covered
      await waitFor(
        'the hook posted items 5..7',
        async () =>
          posted
            .filter((p) => p.path === '/hook')
            .flatMap((p) => (p.body.items as { payload: { value: number } }[]).map((i) => i.payload.value))
            .sort()
            .join() === '5,6,7',
      );
      await waitFor(
        'tally covered all 10',
        async () => (await runs('tally')).reduce((n, r) => n + r.selected, 0) === 10,
      );
      await waitFor(
        'note covered the 8 pressure items',
        async () => (await runs('note')).reduce((n, r) => n + r.selected, 0) === 8,
      );
      const before = (await runs('hook')).length;
      await waitFor('two more hook runs', async () => (await runs('hook')).length >= before + 2);
    } finally {
      await stop(w);
    }
    const hooks = posted.filter((p) => p.path === '/hook');
    // later runs selected nothing and posted nothing (send_empty: false); each post names its run
    expect(new Set(hooks.map((h) => h.headers['idempotency-key'])).size).toBe(hooks.length);
    expect(hooks[0]!.headers['x-token']).toBe('abc');
    expect(hooks[0]!.body).toMatchObject({ reaction: 'hook', unit: 'webhook', version: 'builtin-1' });
    const hookRuns = await runs('hook');
    expect(hookRuns.every((r) => r.status === 'ok' && r.unit_version === 'builtin-1')).toBe(true);
    expect(hookRuns.filter((r) => r.selected > 0).length).toBe(hooks.length);
    const tally = (await runs('tally')).filter((r) => r.selected > 0);
    expect(tally[0]).toMatchObject({
      unit: 'tally',
      unit_version: 't1',
      config_hash: configHash({ label: 'all' }),
    });
    expect(tally[0]!.result).toMatchObject({ label: 'all' });
    const notes = posted
      .filter((p) => p.path === '/notify')
      .map((p) => p.body.alerts as { rule: string; title: string }[]);
    expect(notes.flat().some((a) => a.rule === 'reaction' && a.title === 'new pressure items')).toBe(true);

    const list = JSON.parse(await cli(cfg, ['units', 'list', '--json'])) as {
      name: string;
      kind: string;
      version: string;
    }[];
    expect(list.map((u) => `${u.name}:${u.kind}:${u.version}`).sort()).toEqual([
      'double:compute:1',
      'hook:reaction:builtin-1',
      'note:reaction:builtin-1',
      'tally:reaction:t1',
    ]);
  });

  it('re-runs a compute unit: preview, cancel, then new results with the new config hash beside the old', async () => {
    const cfg3 = await writeConfig('b', 3, '  {}');
    const pressure = await count(`select 1 from stream_items where 'pressure' = any(channels)`);
    expect(pressure).toBe(8);
    const preview = JSON.parse(await cli(cfg3, ['units', 'rerun', 'double', '--dry-run', '--json']));
    expect(preview).toMatchObject({ unit: 'double', items: 8 });
    const none = JSON.parse(
      await cli(cfg3, ['units', 'rerun', 'double', '--dry-run', '--json', '--since', '2999-01-01']),
    );
    expect(none.items).toBe(0);
    const bad = await sluice(['units', 'rerun', 'nope', '--dry-run'], {
      env: { DATABASE_URL: url, SLUICE_CONFIG: cfg3 },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("unit 'nope': expected a compute unit");

    // no worker runs: the re-run waits; cancelled, it never stores anything
    const first = JSON.parse(await cli(cfg3, ['units', 'rerun', 'double', '--json']));
    expect(first).toMatchObject({ status: 'running', total: 8, config_hash: configHash({ factor: 3 }) });
    const cancelled = JSON.parse(await cli(cfg3, ['units', 'rerun', '--cancel', first.id, '--json']));
    expect(cancelled).toMatchObject({ status: 'cancelled', done: 0 });
    const again = await sluice(['units', 'rerun', '--cancel', first.id], {
      env: { DATABASE_URL: url, SLUICE_CONFIG: cfg3 },
    });
    expect(again.stderr).toContain('cancelled already');

    const second = JSON.parse(await cli(cfg3, ['units', 'rerun', 'double', '--json']));
    const w = await worker(cfg3);
    try {
      await waitFor(
        're-run done',
        async () =>
          (await db.one<{ status: string }>('select status from unit_reruns where id = $1', [second.id]))
            .status === 'done',
      );
    } finally {
      await stop(w);
    }
    const rows = await db.query<{ value: number; v: number; config_hash: string }>(
      `select (r.result->>'value')::int as value, (i.payload->>'value')::int as v, r.config_hash
         from unit_results r join stream_items i on i.id = r.item_id order by r.id`,
    );
    const old = rows.filter((r) => r.config_hash === configHash({ factor: 2 }));
    const fresh = rows.filter((r) => r.config_hash === configHash({ factor: 3 }));
    expect(old).toHaveLength(8);
    expect(old.every((r) => r.value === r.v * 2)).toBe(true);
    expect(fresh).toHaveLength(8); // the cancelled re-run added nothing
    expect(fresh.every((r) => r.value === r.v * 3)).toBe(true);
    expect(
      (await db.one<{ done: number }>('select done from unit_reruns where id = $1', [second.id])).done,
    ).toBe(8);

    const items = JSON.parse(await cli(cfg3, ['items', 'list', '--channel', 'pressure', '--json'])) as {
      id: string;
      results: number;
    }[];
    expect(items).toHaveLength(8);
    expect(items.every((i) => i.results === 2)).toBe(true);
    const shown = JSON.parse(await cli(cfg3, ['items', 'show', items[0]!.id, '--json']));
    expect(shown.results.map((r: { config_hash: string }) => r.config_hash)).toEqual([
      configHash({ factor: 2 }),
      configHash({ factor: 3 }),
    ]);
  });

  it('answers the items and units API by role: viewers read, operators re-run', async () => {
    const file = path.join(root, 'b.yaml');
    const config = parseConfigText(await readFile(file, 'utf8'), file).config;
    const app = createApp({
      db,
      config,
      vars: new Variables(db, config.variables),
      version: 'test',
      baseDir: root,
    });
    const tokens: Record<string, string> = {};
    for (const role of ['viewer', 'operator'] as const) {
      await createUser(db, { name: role, role, password: 'correct horse battery staple' }, 'test');
      tokens[role] = (await createToken(db, { user: role, name: 'script' }, 'test')).token;
    }
    const get = async (url: string) => {
      const res = await call(app, url, { token: tokens.viewer });
      expect(res.status, url).toBe(200);
      return res.json();
    };
    const items = (await get('/api/items?channel=pressure&limit=5')) as { id: string; results: number }[];
    expect(items).toHaveLength(5);
    const one = (await get(`/api/items/${items[0]!.id}`)) as { results: { config_hash: string }[] };
    expect(one.results).toHaveLength(2);
    expect((await call(app, '/api/items/abc', { token: tokens.viewer })).status).toBe(400);
    expect((await call(app, '/api/items/999999', { token: tokens.viewer })).status).toBe(404);
    const units = (await get('/api/units')) as { name: string; version: string }[];
    expect(units).toEqual([expect.objectContaining({ name: 'double', version: '1' })]);
    expect(((await get('/api/units/reruns')) as unknown[]).length).toBe(2);
    const body = { dry_run: true, channel: 'pressure' };
    expect((await call(app, '/api/units/double/reruns', { token: tokens.viewer, body })).status).toBe(403);
    const preview = await call(app, '/api/units/double/reruns', { token: tokens.operator, body });
    expect(await preview.json()).toMatchObject({ unit: 'double', items: 8 });
    const started = await call(app, '/api/units/double/reruns', { token: tokens.operator, body: {} });
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    const cancel = await call(app, `/api/units/reruns/${id}/cancel`, {
      token: tokens.operator,
      method: 'POST',
    });
    expect(await cancel.json()).toMatchObject({ status: 'cancelled', cancelled_by: 'token:operator/script' });
    const unknown = await call(app, '/api/units/nope/reruns', { token: tokens.operator, body });
    expect(unknown.status).toBe(404);
    // names every object inherits are unknown names, not a channel or unit (`in` took them for one)
    for (const channel of ['nope', 'constructor', 'toString']) {
      const res = await call(app, '/api/units/double/reruns', {
        token: tokens.operator,
        body: { ...body, channel },
      });
      expect(res.status, channel).toBe(400);
      expect(await res.json()).toMatchObject({
        field: 'channel',
        message: expect.stringContaining(`'${channel}'`),
      });
    }
    expect((await call(app, '/api/units/constructor/reruns', { token: tokens.operator, body })).status).toBe(
      404,
    );
    const again = await call(app, `/api/units/reruns/${id}/cancel`, {
      token: tokens.operator,
      method: 'POST',
    });
    expect(again.status).toBe(409);
  });

  it('sends a QC digest over the runs of its window to the notifiers, naming the outlier', async () => {
    // 24 runs of astral1 in the last half hour; the newest is far below the others
    const now = Date.now();
    for (let i = 0; i < 24; i++) {
      const id = `digest_${String(i).padStart(2, '0')}.raw`;
      const at = new Date(now - (24 - i) * 60_000).toISOString();
      await db.exec(
        `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime, created_at)
         values ($1, 'astral1', $1, 'file', '/x/' || $1, 'P', 'done', 1, now(), $2)`,
        [id, at],
      );
      await db.exec(
        `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
         values ($1, 'qc', 1, 'precursors', $2, $3)`,
        [id, i === 23 ? 1000 : 5000 + (i % 5) * 10, at],
      );
    }
    const cfg = await writeConfig(
      'digest',
      2,
      `  digest:
    every_seconds: 1
    select: { files: { window: hours, hours: 2 } }
    action: { type: qc_digest, metrics: [precursors], window: 20, k: 3 }`,
    );
    const digestPosts = () =>
      posted
        .filter((p) => p.path === '/notify')
        .flatMap((p) => p.body.alerts as { title: string; text?: string }[])
        .filter((a) => JSON.stringify(a).includes('digest_23.raw'));
    const w = await worker(cfg);
    try {
      await waitFor('a digest naming the outlier', async () => digestPosts().length > 0);
    } finally {
      await stop(w);
    }
    const alert = digestPosts()[0]!;
    expect(alert.title).toBe('QC astral1: 24 runs, 1 outlier');
    expect(JSON.stringify(alert)).toContain('precursors = 1000');
    // only the outlier is named, not the steady runs
    expect(JSON.stringify(alert)).not.toContain('digest_22.raw');
    const run = (await runs('digest')).find((r) => r.selected > 0)!;
    expect(run).toMatchObject({ status: 'ok', unit: 'qc_digest', unit_version: 'builtin-1' });
    expect(run.result).toMatchObject({ sent: true });
  });
});
