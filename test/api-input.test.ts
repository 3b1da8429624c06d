/**
 * Hostile input never yields a 500 (issue #17, item 1): NUL and lone surrogates in any text
 * parameter or body field, cursors that decode but carry impossible values, and the CSV export,
 * which must refuse bad filters before the first byte. Each answer is a 400 naming the parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import type { Db } from '../src/core/db/db.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
  await insertFile(h.db, { id: 'in.raw', status: 'error' });
  await insertFile(h.db, { id: 'in2.raw', status: 'done' });
});
afterAll(async () => {
  await h?.close();
});

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function expect400(res: Response, field: string) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text) as { code: string; field: string; message: string };
  expect(body).toMatchObject({ code: 'invalid_input', field });
  expect(body.message).toContain(field);
  return body;
}

describe('the cases of issue #17 answer 400, not 500', () => {
  const cases: [string, string][] = [
    ['/api/files?q=%00', 'q'],
    ['/api/files?q=a%ED%A0%80b', 'q'],
    [`/api/files?cursor=${cursor(['created_at', 'desc', '9999-99-99T99:99:99.000000Z', 'x'])}`, 'cursor'],
    [`/api/files?sort=size&cursor=${cursor(['size', 'desc', '9999999999999999999', 'x'])}`, 'cursor'],
    [`/api/files?sort=name&cursor=${cursor(['name', 'desc', 'abc', 'a\u0000b'])}`, 'cursor'],
    [`/api/files?sort=name&cursor=${cursor(['name', 'desc', 'a\ud800', 'x'])}`, 'cursor'],
    [`/api/files?cursor=${cursor(['created_at', 'desc', '2026-02-30T00:00:00.000000Z', 'x'])}`, 'cursor'],
    [`/api/files?sort=size&cursor=${cursor(['size', 'desc', '-1', 'x'])}`, 'cursor'],
    ['/api/files.csv?q=%00', 'q'],
    ['/api/files.csv?q=a%00', 'q'],
  ];
  for (const [url, field] of cases) {
    it(`GET ${url.slice(0, 70)} → 400 ${field}`, async () => {
      const body = await expect400(await call(h.app, url, { token: h.tokens.admin }), field);
      expect(body.message).not.toMatch(/internal/);
    });
  }

  it('POST /api/files/<id>/ignore with a NUL in the reason → 400 reason', async () => {
    const res = await call(h.app, '/api/files/in.raw/ignore', {
      token: h.tokens.admin,
      body: '{"reason":"a\\u0000b"}',
    });
    await expect400(res, 'reason');
    const row = await h.db.one<{ status: string }>("select status from files where id = 'in.raw'");
    expect(row.status).toBe('error');
  });

  it('refuses a lone surrogate in a body field, naming it', async () => {
    const res = await call(h.app, '/api/files/in.raw/ignore', {
      token: h.tokens.admin,
      body: '{"reason":"half \\ud83d of a pair"}',
    });
    const body = await expect400(res, 'reason');
    expect(body.message).toMatch(/surrogate|UTF-16|valid text/i);
  });

  it('refuses NUL in a login name and password (a public route) as 400, not 500', async () => {
    await expect400(await call(h.app, '/api/login', { body: { name: 'a\u0000b', password: 'x' } }), 'name');
    await expect400(
      await call(h.app, '/api/login', { body: { name: 'admin', password: 'x\u0000y' } }),
      'password',
    );
  });

  it('a valid cursor of the same sort still pages', async () => {
    const first = await call(h.app, '/api/files?limit=1&sort=name&dir=asc', { token: h.tokens.admin });
    const page = (await first.json()) as { items: { id: string }[]; nextCursor: string };
    expect(page.items.map((f) => f.id)).toEqual(['in.raw']);
    const next = await call(h.app, `/api/files?limit=1&sort=name&dir=asc&cursor=${page.nextCursor}`, {
      token: h.tokens.admin,
    });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { items: { id: string }[] }).items.map((f) => f.id)).toEqual(['in2.raw']);
  });
});

describe('names every object inherits are unknown names', () => {
  // `config.instruments[name]` answered `constructor`, `toString` … with what every object inherits,
  // so they passed as configured instruments (an empty listing instead of a 400)
  const urls = ['/api/files?instrument=', '/api/files.csv?instrument=', '/api/throughput?instrument='];
  for (const url of urls) {
    it(`GET ${url}… answers them as an unknown instrument: 400 naming instrument`, async () => {
      const unknown = await expect400(
        await call(h.app, `${url}nosuch`, { token: h.tokens.viewer }),
        'instrument',
      );
      expect(unknown.message).toContain("no instrument 'nosuch'");
      for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
        const res = await call(h.app, `${url}${name}`, { token: h.tokens.viewer });
        const body = await expect400(res, 'instrument');
        expect(body.message, name).toBe(unknown.message.replace('nosuch', name));
      }
      // not even a well-formed id: refused by the parameter's own check, naming it all the same
      await expect400(await call(h.app, `${url}__proto__`, { token: h.tokens.viewer }), 'instrument');
    });
  }

  it('counts the files of an instrument whose configured id is also an inherited name (constructor)', async () => {
    const config = structuredClone(h.deps.config);
    Object.defineProperty(config.instruments, 'constructor', {
      value: config.instruments.tims1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    const app = createApp({ ...h.deps, config });
    await insertFile(h.db, { id: 'ctor.d', instrument: 'constructor', size: 3 });
    for (const url of ['/api/throughput?days=1', '/api/throughput?days=1&instrument=constructor']) {
      const res = await call(app, url, { token: h.tokens.viewer });
      expect(res.status, url).toBe(200);
      const t = (await res.json()) as { instruments: Record<string, { files: number[]; bytes: number[] }> };
      expect(t.instruments.constructor, url).toEqual({ files: [1], bytes: [3] });
    }
    const files = await call(app, '/api/files?instrument=constructor', { token: h.tokens.viewer });
    expect(files.status).toBe(200);
    expect(((await files.json()) as { items: { id: string }[] }).items.map((f) => f.id)).toEqual(['ctor.d']);
    await h.db.exec("delete from files where id = 'ctor.d'"); // the other tests list every file
  });
});

describe('the CSV export', () => {
  it('answers a failure of its first read with an error status, not 200 and a lone header', async () => {
    // a stand-in for a database fault (not input): the listing query fails, everything else works
    const failing = new Proxy(h.db, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== 'query' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return (sql: string, params?: unknown[]) =>
          /from files/.test(sql) ? Promise.reject(new Error('stand-in fault')) : v.call(target, sql, params);
      },
    }) as Db;
    const app = createApp({ ...h.deps, db: failing });
    const res = await call(app, '/api/files.csv', { token: h.tokens.viewer });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ code: 'internal' });
  });
});

describe('runtime variables', () => {
  it('refuses numbers no one means (1e308 minutes), which made GET /api/instruments answer 500', async () => {
    for (const [name, value] of [
      ['stuck_file_minutes', 1e308],
      ['min_file_age_days', 1e300],
      ['max_file_age_hours', 1e300],
      ['min_free_space_gb', 1e300],
    ] as const) {
      const res = await call(h.app, `/api/vars/${name}`, {
        method: 'PUT',
        token: h.tokens.admin,
        body: { value },
      });
      const body = await expect400(res, 'value');
      expect(body.message).toMatch(/expected a number .*≤/);
    }
    const ok = await call(h.app, '/api/vars/stuck_file_minutes', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { value: 10_000 },
    });
    expect(ok.status).toBe(200);
    const instruments = await call(h.app, '/api/instruments', { token: h.tokens.viewer });
    expect(instruments.status).toBe(200);
  });
});
