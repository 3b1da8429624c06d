/**
 * The REST API in-process (`app.request`) against a real database: roles on every route,
 * sessions, CSRF, tokens, input validation, pagination, audit, the event stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, routeTable } from '../src/api/app.ts';
import type { FeedState } from '../src/api/event-feed.ts';
import { FeedHub, readFeed } from '../src/api/event-feed.ts';
import { startServer } from '../src/api/server.ts';
import { ensureFirstAdmin } from '../src/auth/first-admin.ts';
import { ROLES, type Role } from '../src/auth/roles.ts';
import { createUser, removeUser } from '../src/auth/users.ts';
import type { Db } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { latestEventId, recordEvent } from '../src/engine/events.ts';
import {
  type ApiHarness,
  call,
  createApiHarness,
  insertFile,
  login,
  PASSWORD,
  usersCli,
} from './helpers/api.ts';
import { patient } from './helpers/patience.ts';
import { waitFor } from './helpers/spawn.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => {
  await h?.close();
});

async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** A request path for a route, with plausible values in its parameters. */
function samplePath(path: string): string {
  return path.replace(/:([a-z]+)/g, (_m, name: string) =>
    name === 'id' && path.includes('/jobs/') ? '1' : 'x1',
  );
}

/** Reads one SSE stream message by message (`until`: up to the first one accepted, or 10 s). */
function sseReader(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  return {
    async until(pred: (msg: Record<string, string>) => boolean): Promise<Record<string, string>[]> {
      const seen: Record<string, string>[] = [];
      const deadline = Date.now() + patient(10_000);
      while (Date.now() < deadline) {
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const msg: Record<string, string> = {};
          for (const line of buf.slice(0, i).split('\n')) {
            const m = /^(\w+): ?(.*)$/.exec(line);
            if (m) msg[m[1]!] = m[2]!;
          }
          buf = buf.slice(i + 2);
          if (Object.keys(msg).length > 0) seen.push(msg);
          if (pred(msg)) return seen;
          i = buf.indexOf('\n\n');
        }
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
      }
      throw new Error(`no such message; seen ${JSON.stringify(seen)}`);
    },
    close: () => reader.cancel(),
  };
}

/** Reads SSE messages until `until` accepts one, then closes the stream. */
async function readSse(res: Response, until: (msg: Record<string, string>) => boolean) {
  const r = sseReader(res);
  try {
    return await r.until(until);
  } finally {
    await r.close();
  }
}

describe('roles on every route', () => {
  const routes = routeTable();

  it('has only the expected public routes', () => {
    expect(
      routes
        .filter((r) => r.role === 'public')
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(['GET /api/openapi.json', 'GET /healthz', 'GET /readyz', 'POST /api/login']);
  });

  it('answers 401 without credentials, and 403 to every role below the declared one', async () => {
    const checked: string[] = [];
    for (const r of routes.filter((x) => x.role !== 'public')) {
      const url = samplePath(r.path);
      const anon = await call(h.app, url, { method: r.method });
      expect(anon.status, `${r.method} ${r.path} without auth`).toBe(401);
      expect((await json(anon)).code).toBe('auth.required');
      for (const role of ROLES.slice(0, ROLES.indexOf(r.role as Role))) {
        const res = await call(h.app, url, { method: r.method, token: h.tokens[role] });
        expect(res.status, `${r.method} ${r.path} as ${role}`).toBe(403);
        expect(await json(res)).toMatchObject({ code: 'auth.forbidden' });
        checked.push(`${r.method} ${r.path} ${role}`);
      }
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it('describes every route in the OpenAPI document with its role', async () => {
    const res = await call(h.app, '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = await json<{ paths: Record<string, Record<string, { 'x-sluice-role': string }>> }>(res);
    for (const r of routes) {
      const op = doc.paths[r.path.replace(/:([a-z]+)/g, '{$1}')]?.[r.method.toLowerCase()];
      expect(op?.['x-sluice-role'], `${r.method} ${r.path}`).toBe(r.role);
    }
    expect(JSON.stringify(doc)).not.toContain('#/$defs'); // every $ref resolves within the document
    const files = doc.paths['/api/files']!.get as unknown as { parameters: { name: string }[] };
    expect(files.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['status', 'limit', 'cursor']),
    );
  });
});

describe('sessions', () => {
  it('logs in with an httpOnly SameSite=Strict cookie, and out again', async () => {
    const s = await login(h.app, 'viewer');
    expect(s.setCookie).toMatch(/^sluice_session=[A-Za-z0-9_-]{43};/);
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).toMatch(/Path=\//);
    expect(s.setCookie).not.toMatch(/Secure/);
    const me = await call(h.app, '/api/me', { session: s });
    expect(await json(me)).toMatchObject({
      user: 'viewer',
      role: 'viewer',
      via: 'session',
      csrfToken: s.csrfToken,
    });

    const out = await call(h.app, '/api/logout', { method: 'POST', session: s });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/sluice_session=;.*Max-Age=0/);
    const after = await call(h.app, '/api/me', { session: s });
    expect(after.status).toBe(401);
    expect((await json(after)).code).toBe('auth.session_expired');
  });

  it('marks the cookie Secure over https', async () => {
    const res = await h.app.request('https://sluice.example/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewer', password: PASSWORD }),
    });
    expect(res.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('gives the same answer for a wrong password and an unknown user', async () => {
    const a = await call(h.app, '/api/login', { body: { name: 'viewer', password: 'wrong password!' } });
    const b = await call(h.app, '/api/login', { body: { name: 'nobody', password: 'wrong password!' } });
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(await json(a)).toEqual(await json(b));
  });

  it('slows down password guessing for one user name (429 with Retry-After), not for the others', async () => {
    await createUser(h.db, { name: 'guessed', role: 'viewer', password: PASSWORD }, 'test');
    // a first wait of 5 min instead of 1 s: the 6th attempt is refused however slow this machine is
    const app = createApp({ ...h.deps, loginThrottle: { firstWaitS: 300 } });
    const attempt = (password: string) => call(app, '/api/login', { body: { name: 'guessed', password } });
    for (let i = 0; i < 5; i++) expect((await attempt('wrong password!')).status).toBe(401);
    const blocked = await attempt(PASSWORD); // even the right password waits: a guess is not confirmed
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await json(blocked);
    expect(body).toMatchObject({ code: 'auth.throttled' });
    expect(body.message).toMatch(/too many failed logins for 'guessed': try again in \d+ s/);
    expect((await login(h.app, 'viewer')).csrfToken).toBeTruthy();
    await removeUser(h.db, 'guessed', 'test');
  });

  it('refuses session writes without the CSRF token, and accepts them with it', async () => {
    const s = await login(h.app, 'admin');
    const put = { method: 'PUT', body: { value: 300 } };
    const none = await call(h.app, '/api/vars/stuck_file_minutes', { ...put, session: s, csrf: false });
    expect(none.status).toBe(403);
    expect((await json(none)).code).toBe('auth.csrf');
    const wrong = await call(h.app, '/api/vars/stuck_file_minutes', {
      ...put,
      session: s,
      csrf: false,
      headers: { 'x-csrf-token': 'not-the-token' },
    });
    expect(wrong.status).toBe(403);
    const ok = await call(h.app, '/api/vars/stuck_file_minutes', { ...put, session: s });
    expect(ok.status).toBe(200);
    // reads need no CSRF token
    expect((await call(h.app, '/api/vars', { session: s, csrf: false })).status).toBe(200);
  });
});

describe('tokens', () => {
  it('authenticates scripts with a bearer token, no CSRF needed, and refuses bad or revoked ones', async () => {
    const res = await call(h.app, '/api/users/operator/tokens', {
      token: h.tokens.admin,
      body: { name: 'ci', role: 'viewer' },
    });
    expect(res.status).toBe(201);
    const { token } = await json<{ token: string }>(res);
    expect(token).toMatch(/^sluice_/);
    const me = await json(await call(h.app, '/api/me', { token }));
    expect(me).toMatchObject({ user: 'operator', role: 'viewer', via: 'token', csrfToken: null });
    // the token's role, not its user's, applies
    expect((await call(h.app, '/api/files/x1/ignore', { method: 'POST', token })).status).toBe(403);

    const bad = await call(h.app, '/api/me', { token: 'sluice_nope' });
    expect(bad.status).toBe(401);
    expect((await json(bad)).code).toBe('auth.invalid_token');
    const revoke = await call(h.app, '/api/users/operator/tokens/ci', {
      method: 'DELETE',
      token: h.tokens.admin,
    });
    expect(revoke.status).toBe(200);
    expect((await call(h.app, '/api/me', { token })).status).toBe(401);
  });

  it("refuses a token with a role above its user's", async () => {
    const res = await call(h.app, '/api/users/viewer/tokens', {
      token: h.tokens.admin,
      body: { name: 'tooHigh', role: 'admin' },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe('token.role_too_high');
  });
});

describe('bad input answers 400 naming the field', () => {
  const cases: [string, string][] = [
    ['/api/files?colour=red', 'colour'],
    ['/api/files?limit=10000', 'limit'],
    ['/api/files?limit=0', 'limit'],
    ['/api/files?limit=ten', 'limit'],
    ['/api/files?from=yesterday', 'from'],
    ['/api/files?from=2026-02-30', 'from'],
    ['/api/files?from=2026-03-01&to=2026-02-01', 'to'],
    ['/api/files?status=done,bogus', 'status'],
    ['/api/files?sort=colour', 'sort'],
    ['/api/files?dir=up', 'dir'],
    ['/api/files?cursor=garbage', 'cursor'],
    ['/api/files?instrument=nosuch', 'instrument'],
    ['/api/files?limit=5&limit=6', 'limit'],
    ['/api/files.csv?limit=5', 'limit'],
    [`/api/files/${'x'.repeat(400)}`, 'id'],
    ['/api/files/a%2Fb', 'id'],
    ['/api/files/a%00b', 'id'],
    ['/api/status?verbose=1', 'verbose'],
    ['/api/metrics/series', 'names'],
    ['/api/metrics/series?names=a,b%20c', 'names'],
    ['/api/vars/history?name=nosuch', 'name'],
    ['/api/events?after=abc', 'after'],
  ];
  for (const [url, field] of cases) {
    it(`GET ${url.slice(0, 60)} → field ${field}`, async () => {
      const res = await call(h.app, url, { token: h.tokens.viewer });
      const body = await json(res);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body).toMatchObject({ code: 'invalid_input', field });
      expect(body.message).toContain(field);
    });
  }

  it('names the field of a bad body, a bad job id, non-JSON and malformed JSON', async () => {
    const size = await call(h.app, '/api/pools/copy', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { size: -1 },
    });
    expect(size.status).toBe(400);
    expect((await json(size)).field).toBe('size');
    const extra = await call(h.app, '/api/pools/copy', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { size: 1, x: 2 },
    });
    expect((await json(extra)).field).toBe('x');
    const value = await call(h.app, '/api/vars/output_exists_mode', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { value: 'explode' },
    });
    expect(value.status).toBe(400);
    expect(await json(value)).toMatchObject({
      field: 'value',
      message: expect.stringMatching(/expected one of raise, overwrite, associate, add, found 'explode'/),
    });
    const missing = await call(h.app, '/api/vars/output_exists_mode', {
      method: 'PUT',
      token: h.tokens.admin,
      body: {},
    });
    expect((await json(missing)).field).toBe('value');
    const job = await call(h.app, '/api/jobs/abc/cancel', { method: 'POST', token: h.tokens.operator });
    expect(job.status).toBe(400);
    expect((await json(job)).field).toBe('id');
    const text = await call(h.app, '/api/login', {
      body: 'name=a',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const broken = await call(h.app, '/api/login', { body: '{"name":' });
    expect(broken.status).toBe(400);
    expect((await json(broken)).field).toBe('body');
  });
});

describe('unknown ids answer 404', () => {
  const cases: [string, string, Role, unknown?][] = [
    ['GET', '/api/files/no-such-file.raw', 'viewer'],
    ['POST', '/api/files/no-such-file.raw/retry', 'operator'],
    ['POST', '/api/jobs/999999/cancel', 'operator'],
    ['PUT', '/api/vars/no_such_var', 'admin', { value: 1 }],
    ['PUT', '/api/pools/nosuch', 'admin', { size: 1 }],
    ['DELETE', '/api/users/nobody', 'admin'],
    ['GET', '/api/nothing-here', 'viewer'],
  ];
  for (const [method, url, role, body] of cases) {
    it(`${method} ${url}`, async () => {
      const res = await call(h.app, url, { method, token: h.tokens[role], body });
      expect(res.status).toBe(404);
      expect((await json(res)).code).toMatch(/not_found/);
    });
  }
});

describe('files', () => {
  it('pages through 250 files with equal timestamps, every file exactly once, in every sort', async () => {
    const at = '2026-01-15T10:00:00.000000Z';
    for (let i = 0; i < 250; i++) {
      await insertFile(h.db, {
        id: `page-${String(i).padStart(3, '0')}.d`,
        instrument: 'tims1',
        createdAt: at,
        size: 1000 + (i % 7), // ties on size too
        name: `run_${i % 10}.d`, // and on name
      });
    }
    const want = Array.from({ length: 250 }, (_, i) => `page-${String(i).padStart(3, '0')}.d`);
    for (const [sort, dir, limit] of [
      ['created_at', 'desc', 37],
      ['created_at', 'asc', 100],
      ['name', 'asc', 50],
      ['size', 'desc', 500],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/api/files?instrument=tims1&sort=${sort}&dir=${dir}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await call(h.app, url, { token: h.tokens.viewer });
        expect(res.status).toBe(200);
        const page = await json<{ items: { id: string; size_bytes: number }[]; nextCursor: string | null }>(
          res,
        );
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((f) => f.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      expect(seen.length, `${sort} ${dir}`).toBe(250);
      expect([...seen].sort(), `${sort} ${dir}`).toEqual(want);
      expect(pages).toBe(Math.ceil(250 / limit));
    }
    // a cursor from one sort is refused in another
    const first = await json<{ nextCursor: string }>(
      await call(h.app, '/api/files?instrument=tims1&limit=10', { token: h.tokens.viewer }),
    );
    const mixed = await call(h.app, `/api/files?instrument=tims1&sort=name&cursor=${first.nextCursor}`, {
      token: h.tokens.viewer,
    });
    expect(mixed.status).toBe(400);
    expect((await json(mixed)).field).toBe('cursor');
  });

  it('filters by status, date and name, and exports CSV', async () => {
    await insertFile(h.db, { id: 'QC_hela_01.raw', status: 'error', createdAt: '2026-02-01T08:00:00Z' });
    await insertFile(h.db, { id: 'QC_hela_02.raw', status: 'done', createdAt: '2026-02-02T08:00:00Z' });
    await insertFile(h.db, { id: '=cmd(),"x".raw', status: 'done', createdAt: '2026-02-03T08:00:00Z' });
    const get = async (q: string) =>
      (
        await json<{ items: { id: string }[] }>(
          await call(h.app, `/api/files?${q}`, { token: h.tokens.viewer }),
        )
      ).items.map((f) => f.id);
    expect(await get('status=error&instrument=astral1')).toEqual(['QC_hela_01.raw']);
    expect(await get('q=hela&dir=asc')).toEqual(['QC_hela_01.raw', 'QC_hela_02.raw']);
    expect(await get('q=HELA_0&from=2026-02-02&to=2026-02-03')).toEqual(['QC_hela_02.raw']);
    expect(await get('q=%25')).toEqual([]); // % is literal, not a wildcard

    const csv = await call(h.app, '/api/files.csv?instrument=astral1&from=2026-02-01&dir=asc', {
      token: h.tokens.viewer,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,instrument_id,project_id,name,/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^QC_hela_01\.raw,astral1,PRJ1,QC_hela_01\.raw,file,error,/);
    expect(lines[3]).toMatch(/^"'=cmd\(\),""x"".raw",/);
  });

  it("returns one file's record and its timeline", async () => {
    await recordEvent(h.db, {
      subjectType: 'file',
      subjectId: 'QC_hela_01.raw',
      actor: 'test',
      from: 'backing_up',
      to: 'error',
      reason: 'disk full',
    });
    const res = await call(h.app, '/api/files/QC_hela_01.raw', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const body = await json<{ file: { id: string; size_bytes: number }; events: { reason: string }[] }>(res);
    expect(body.file).toMatchObject({ id: 'QC_hela_01.raw', size_bytes: 1000 });
    expect(body).toMatchObject({ copies: [], jobs: [], metrics: [] });
    expect(body.events.map((e) => e.reason)).toEqual(['disk full']);
  });

  it('lets an operator ignore a file (recorded with their name) and says 409 when an action does not apply', async () => {
    await insertFile(h.db, { id: 'busy.raw', status: 'backing_up' });
    const s = await login(h.app, 'operator');
    const res = await call(h.app, '/api/files/busy.raw/retry', { method: 'POST', session: s });
    expect(res.status).toBe(409);
    expect((await json(res)).message).toMatch(/work on it is under way/);
    const ign = await call(h.app, '/api/files/busy.raw/ignore', {
      session: s,
      body: { reason: 'test sample' },
    });
    expect(ign.status).toBe(200);
    expect(await json(ign)).toMatchObject({ id: 'busy.raw', status: 'ignored' });
    const ev = await h.db.one<{ actor: string; reason: string }>(
      `select actor, reason from events where subject_id = 'busy.raw' order by id desc limit 1`,
    );
    expect(ev).toEqual({ actor: 'user:operator', reason: 'ignored by user:operator: test sample' });
  });
});

describe('instruments, status, metrics', () => {
  it('reports instruments with counts by status and stuck files', async () => {
    await insertFile(h.db, { id: 'stuck.raw', status: 'acquiring' });
    await h.db.exec(`update files set updated_at = now() - interval '10 hours' where id = 'stuck.raw'`);
    const body = await json<{ instruments: { id: string; counts: Record<string, number>; stuck: number }[] }>(
      await call(h.app, '/api/instruments', { token: h.tokens.viewer }),
    );
    const astral = body.instruments.find((i) => i.id === 'astral1')!;
    expect(astral.counts.acquiring).toBe(1);
    expect(astral.stuck).toBe(1);
    expect(body.instruments.find((i) => i.id === 'tims1')!.counts.done).toBe(250);
  });

  it('reports processes, pools and queues', async () => {
    const body = await json(await call(h.app, '/api/status', { token: h.tokens.viewer }));
    expect(body).toMatchObject({ processes: [], queues: [] });
    expect((body.pools as { name: string }[]).map((p) => p.name)).toContain('copy');
  });

  it('returns metric series per name, most recent points within the limit', async () => {
    await h.db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
       select id, 'qc', 1, m, row_number() over (partition by m order by id), '2026-01-01'::timestamptz + row_number() over (partition by m order by id) * interval '1 minute'
       from files, unnest(array['precursors', 'proteins']) m where instrument_id = 'tims1'`,
    );
    const res = await call(
      h.app,
      '/api/metrics/series?names=precursors,proteins,absent&instrument=tims1&limit=100',
      {
        token: h.tokens.viewer,
      },
    );
    expect(res.status).toBe(200);
    const { series } = await json<{
      series: Record<string, { t: number[]; value: number[]; file: string[]; truncated: boolean }>;
    }>(res);
    expect(series.precursors!.t).toHaveLength(100);
    expect(series.precursors!.truncated).toBe(true);
    expect(series.precursors!.value.at(-1)).toBe(250);
    expect(series.precursors!.file.at(-1)).toBe('page-249.d');
    expect(series.precursors!.t).toEqual([...series.precursors!.t].sort((a, b) => a - b));
    expect(series.absent).toEqual({ t: [], value: [], file: [], truncated: false });
  });
});

describe('variables, pools and users', () => {
  it('audits an admin variable change with the actor, and refuses viewers and operators', async () => {
    const s = await login(h.app, 'admin');
    const res = await call(h.app, '/api/vars/min_free_space_gb', {
      method: 'PUT',
      session: s,
      body: { value: 500 },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      name: 'min_free_space_gb',
      value: 500,
      source: 'override',
      updatedBy: 'user:admin',
    });
    const del = await call(h.app, '/api/vars/min_free_space_gb', { method: 'DELETE', token: h.tokens.admin });
    expect(await json(del)).toEqual({ name: 'min_free_space_gb', removed: true });
    const history = await json<{ actor: string; new_value: unknown }[]>(
      await call(h.app, '/api/vars/history?name=min_free_space_gb', { token: h.tokens.viewer }),
    );
    expect(history.map((x) => [x.actor, x.new_value])).toEqual([
      ['token:admin/script', null],
      ['user:admin', 500],
    ]);
    for (const role of ['viewer', 'operator'] as const) {
      const r = await call(h.app, '/api/vars/min_free_space_gb', {
        method: 'PUT',
        token: h.tokens[role],
        body: { value: 1 },
      });
      expect(r.status).toBe(403);
    }
  });

  it('drains a pool and returns it to its configured size', async () => {
    const zero = await call(h.app, '/api/pools/copy', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { size: 0 },
    });
    expect(await json(zero)).toMatchObject({
      name: 'copy',
      size: 0,
      override: 0,
      updated_by: 'token:admin/script',
    });
    const unset = await call(h.app, '/api/pools/copy', {
      method: 'PUT',
      token: h.tokens.admin,
      body: { size: null },
    });
    expect(await json(unset)).toMatchObject({ name: 'copy', size: 3, override: null });
  });

  it('creates a user whose generated password must be changed before anything else', async () => {
    const res = await call(h.app, '/api/users', {
      token: h.tokens.admin,
      body: { name: 'alice', role: 'operator' },
    });
    expect(res.status).toBe(201);
    const { password } = await json<{ password: string }>(res);
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const s = await login(h.app, 'alice', password);
    const blocked = await call(h.app, '/api/files', { session: s });
    expect(blocked.status).toBe(403);
    expect((await json(blocked)).code).toBe('auth.password_change_required');
    const weak = await call(h.app, '/api/me/password', {
      session: s,
      body: { current: password, password: 'short' },
    });
    expect((await json(weak)).field).toBe('password');
    const changed = await call(h.app, '/api/me/password', {
      session: s,
      body: { current: password, password: 'a much longer secret' },
    });
    expect(changed.status).toBe(200);
    // the old session ended with the password change; a new one is issued
    expect((await call(h.app, '/api/me', { session: s })).status).toBe(401);
    const s2 = await login(h.app, 'alice', 'a much longer secret');
    expect((await call(h.app, '/api/files', { session: s2 })).status).toBe(200);
    const dup = await call(h.app, '/api/users', {
      token: h.tokens.admin,
      body: { name: 'alice', role: 'viewer' },
    });
    expect(dup.status).toBe(409);
    const list = await json<{ name: string; role: string }[]>(
      await call(h.app, '/api/users', { token: h.tokens.admin }),
    );
    expect(list.map((u) => u.name)).toEqual(['admin', 'alice', 'operator', 'viewer']);
    expect(JSON.stringify(list)).not.toMatch(/scrypt/);
  });

  it('does not remove the last admin', async () => {
    const res = await call(h.app, '/api/users/admin', { method: 'DELETE', token: h.tokens.admin });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe('user.last_admin');
  });

  it('creates the first admin once, with a one-time password', async () => {
    const t = await createApiHarness();
    try {
      await t.db.exec('delete from users');
      const first = await ensureFirstAdmin(t.db);
      expect(first?.name).toBe('admin');
      expect(await ensureFirstAdmin(t.db)).toBeUndefined();
      const s = await login(t.app, 'admin', first!.password);
      const me = await json(await call(t.app, '/api/me', { session: s }));
      expect(me).toMatchObject({ user: 'admin', role: 'admin', mustChangePassword: true });
    } finally {
      await t.close();
    }
  });
});

describe('the event stream', () => {
  const subjectOf = (m: Record<string, string>) =>
    m.event === 'file' ? (JSON.parse(m.data!) as { subject_id: string }).subject_id : undefined;

  /** The test database, counting reads of the event feed; `hold` makes the next one wait. */
  function feedCounter() {
    const c = { queries: 0, held: undefined as Promise<void> | undefined, db: h.db };
    c.db = new Proxy(h.db, {
      get(target, key) {
        const v = Reflect.get(target, key, target) as unknown;
        if (key === 'one')
          return async (sql: string, ...rest: unknown[]) => {
            if (sql.includes('pg_current_snapshot')) {
              c.queries++;
              const wait = c.held;
              c.held = undefined;
              await wait;
            }
            return (target.one as (...a: unknown[]) => unknown)(sql, ...rest);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Db;
    return c;
  }

  it('all streams of a process share one reader of the event log; a late one catches up first', async () => {
    const counter = feedCounter();
    const app = createApp({ ...h.deps, db: counter.db });
    const open = () => call(app, '/api/events', { token: h.tokens.viewer }).then(sseReader);
    const streams = await Promise.all(Array.from({ length: 5 }, open));
    for (const st of streams) await st.until((m) => m.event === 'ready');
    const before = await latestEventId(h.db);
    await recordEvent(h.db, {
      subjectType: 'file',
      subjectId: 'shared-1.raw',
      actor: 'test',
      to: 'acquired',
    });
    for (const st of streams) {
      const seen = await st.until((m) => subjectOf(m) === 'shared-1.raw');
      expect(seen.filter((m) => m.event === 'file').map(subjectOf)).toEqual(['shared-1.raw']);
    }

    // five live streams, one query per poll (50 ms): five pollers would make five times as many
    const q0 = counter.queries;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    await waitFor('a poll', () => counter.queries > q0); // a busy machine may not have run one yet
    const polls = counter.queries - q0;
    expect(polls).toBeLessThanOrEqual(Math.ceil((Date.now() - t0) / 50) + 2);

    // a stream resuming from before shared-1 gets it by catching up, then the next live one, once
    const late = await call(app, '/api/events', {
      token: h.tokens.viewer,
      headers: { 'last-event-id': before.toString() },
    }).then(sseReader);
    expect((await late.until((m) => subjectOf(m) === 'shared-1.raw')).map(subjectOf).filter(Boolean)).toEqual(
      ['shared-1.raw'],
    );
    await recordEvent(h.db, { subjectType: 'file', subjectId: 'shared-2.raw', actor: 'test', to: 'done' });
    for (const st of [...streams, late]) {
      const seen = await st.until((m) => subjectOf(m) === 'shared-2.raw');
      expect(seen.filter((m) => m.event === 'file').map(subjectOf)).toEqual(['shared-2.raw']);
    }

    // nobody listening: no more polling
    for (const st of [...streams, late]) await st.close();
    await new Promise((r) => setTimeout(r, 200));
    const q1 = counter.queries;
    await new Promise((r) => setTimeout(r, 300));
    expect(counter.queries).toBe(q1);
  });

  it('a reader restarted while its last read is still running polls once, not twice', async () => {
    const counter = feedCounter();
    const hub = new FeedHub(counter.db, 50);
    const cursor = await latestEventId(h.db);
    const a = hub.subscribe(cursor);
    expect(await a.next(10)).toEqual([]); // caught up: joins, the shared polling starts
    let release = () => {};
    counter.held = new Promise<void>((r) => {
      release = r;
    });
    await new Promise((r) => setTimeout(r, 150)); // a poll is now waiting in its read
    a.close(); // the last stream leaves ...
    const b = hub.subscribe(cursor); // ... and a new one comes and joins
    expect(await b.next(10)).toEqual([]);
    release(); // the old read ends: its loop must stop, the new one goes on alone
    const q0 = counter.queries;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    expect(counter.queries - q0).toBeLessThanOrEqual(Math.ceil((Date.now() - t0) / 50) + 2);
    b.close();
    await new Promise((r) => setTimeout(r, 200));
    const q1 = counter.queries;
    await new Promise((r) => setTimeout(r, 300));
    expect(counter.queries).toBe(q1);
  });

  it('sends new file events, and resumes after Last-Event-ID', async () => {
    const res = await call(h.app, '/api/events', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const writer = setTimeout(() => {
      void recordEvent(h.db, { subjectType: 'file', subjectId: 'live.raw', actor: 'test', to: 'acquired' });
    }, 200);
    const msgs = await readSse(res, (m) => m.event === 'file');
    clearTimeout(writer);
    expect(msgs[0]!.event).toBe('ready');
    const ev = msgs.at(-1)!;
    expect(JSON.parse(ev.data!)).toMatchObject({
      subject_id: 'live.raw',
      to_state: 'acquired',
      actor: 'test',
    });

    await recordEvent(h.db, { subjectType: 'user', subjectId: 'x', actor: 'test' }); // not a file event
    await recordEvent(h.db, { subjectType: 'file', subjectId: 'later.raw', actor: 'test', to: 'done' });
    const again = await call(h.app, '/api/events', {
      token: h.tokens.viewer,
      headers: { 'last-event-id': ev.id! },
    });
    const next = await readSse(again, (m) => m.event === 'file');
    expect(JSON.parse(next.at(-1)!.data!)).toMatchObject({ subject_id: 'later.raw' });
  });

  it('does not skip an event whose transaction commits after a later one', async () => {
    const state: FeedState = { cursor: await latestEventId(h.db) };
    const client = await h.db.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into events (subject_type, subject_id, actor, reason) values ('file', 'slow.raw', 'test', 'first')`,
      );
      await recordEvent(h.db, {
        subjectType: 'file',
        subjectId: 'fast.raw',
        actor: 'test',
        reason: 'second',
      });
      // the first id is not visible yet: the reader waits at the gap instead of skipping it
      expect(await readFeed(h.db, state, { minWaitMs: 0 })).toEqual([]);
      expect(await readFeed(h.db, state, { minWaitMs: 0 })).toEqual([]);
      await client.query('commit');
    } finally {
      client.release();
    }
    expect((await readFeed(h.db, state, { minWaitMs: 0 })).map((e) => e.reason)).toEqual(['first', 'second']);

    // a rolled-back id leaves a gap that never fills: it is skipped once nothing can fill it
    const c2 = await h.db.pool.connect();
    await c2.query('begin');
    await c2.query(
      `insert into events (subject_type, subject_id, actor) values ('file', 'gone.raw', 'test')`,
    );
    await c2.query('rollback');
    c2.release();
    await recordEvent(h.db, { subjectType: 'file', subjectId: 'after.raw', actor: 'test' });
    expect(await readFeed(h.db, state, { minWaitMs: 0 })).toEqual([]); // gap first seen
    // skipped at the next read, unless a transaction that was running then (in any database of
    // the cluster: other test files run beside this one) still runs; then after maxWaitMs at most
    let got: string[] = [];
    for (let i = 0; i < 40 && got.length === 0; i++) {
      got = (await readFeed(h.db, state, { minWaitMs: 0, maxWaitMs: 500 })).map((e) => e.subject_id);
      if (got.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toEqual(['after.raw']);
  });
});

describe('sluice users', () => {
  it('adds a user with a one-time password, lists, creates a token, and removes them', async () => {
    const add = await usersCli(['add', 'bob', '--role', 'operator'], { env: h.cliEnv });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const password = /one-time password: (\S+)/.exec(add.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const s = await login(h.app, 'bob', password!);
    expect(await json(await call(h.app, '/api/me', { session: s }))).toMatchObject({
      mustChangePassword: true,
    });

    const list = await usersCli(['list', '--json'], { env: h.cliEnv });
    const bob = (JSON.parse(list.stdout) as { name: string; role: string; created_by: string }[]).find(
      (u) => u.name === 'bob',
    );
    expect(bob).toMatchObject({ role: 'operator', created_by: 'cli:tester' });

    const tok = await usersCli(['token', 'bob', '--name', 'nightly', '--role', 'viewer'], { env: h.cliEnv });
    expect(tok.code).toBe(0);
    const token = tok.stdout.split('\n')[0]!;
    expect(await json(await call(h.app, '/api/me', { token }))).toMatchObject({
      user: 'bob',
      role: 'viewer',
      via: 'token',
    });

    const rm = await usersCli(['remove', 'bob'], { env: h.cliEnv });
    expect(rm.code).toBe(0);
    expect((await call(h.app, '/api/me', { token })).status).toBe(401);
  });

  it('reads a password from stdin and resets passwords', async () => {
    const add = await usersCli(['add', 'carol', '--role', 'viewer', '--password-stdin'], {
      env: h.cliEnv,
      input: 'carols own secret\n',
    });
    expect(add.code).toBe(0);
    expect(add.stdout).not.toMatch(/one-time/);
    const s = await login(h.app, 'carol', 'carols own secret');
    const reset = await usersCli(['reset-password', 'carol'], { env: h.cliEnv });
    expect(reset.code).toBe(0);
    expect((await call(h.app, '/api/me', { session: s })).status).toBe(401); // sessions ended
    const pw = /one-time password: (\S+)/.exec(reset.stdout)![1]!;
    await login(h.app, 'carol', pw);
  });

  it('exits 2 with a clear message on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [['add', 'dave', '--role', 'boss'], /unknown role 'boss'/],
      [['add', 'no/slash', '--role', 'viewer'], /user name 'no\/slash' is not allowed/],
      [['add', 'viewer', '--role', 'viewer'], /user 'viewer' already exists/],
      [['remove', 'nobody'], /no user 'nobody'/],
      [['remove', 'admin'], /last admin/],
      [['token', 'viewer', '--name', 't1', '--role', 'admin'], /cannot have role admin/],
      [['add', 'erin'], /required option '-r, --role <role>'/],
    ];
    for (const [args, message] of cases) {
      const r = await usersCli(args, { env: h.cliEnv, input: '' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const short = await usersCli(['add', 'erin', '--role', 'viewer', '--password-stdin'], {
      env: h.cliEnv,
      input: 'short\n',
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 12 characters/);
  });
});

describe('over HTTP', () => {
  /** A login over a real socket from 127.0.0.1; `forwardedFor` sets X-Forwarded-For. */
  const loginOver = (url: string, name: string, password: string, forwardedFor?: string) =>
    fetch(`${url}/api/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      body: JSON.stringify({ name, password }),
    });

  it('slows down one client trying many user names; X-Forwarded-For counts only from a trusted proxy', async () => {
    // The counts live in the database (login_throttle) and are cleared after this test.
    const direct = await startServer(createApp({ ...h.deps }), {
      host: '127.0.0.1',
      port: 0,
      log: silentLogger,
    });
    try {
      for (let i = 0; i < 20; i++) {
        // a different name each time (the per-name limit is 5), spoofing a different forwarded address
        const r = await loginOver(direct.url, `spray${i}`, 'wrong password!', `203.0.113.${i}`);
        expect(r.status).toBe(401);
      }
      const blocked = await loginOver(direct.url, 'viewer', PASSWORD, '203.0.113.99');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await blocked.json()) as { code: string; message: string; hint: string };
      expect(body.code).toBe('auth.throttled');
      expect(body.message).toMatch(/too many failed logins from 127\.0\.0\.1: try again in \d+ s/);
      expect(body.hint).toMatch(/server\.trusted_proxies/);
    } finally {
      await direct.close();
    }

    const config = { ...h.deps.config, server: { ...h.deps.config.server, trusted_proxies: ['127.0.0.1'] } };
    const proxied = await startServer(createApp({ ...h.deps, config }), {
      host: '127.0.0.1',
      port: 0,
      log: silentLogger,
    });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await loginOver(proxied.url, `spray${i}`, 'wrong password!', `198.51.100.1, 203.0.113.7`);
        expect(r.status).toBe(401);
      }
      // the client behind the proxy is slowed down ...
      const sprayer = await loginOver(proxied.url, 'viewer', PASSWORD, '203.0.113.7');
      expect(sprayer.status).toBe(429);
      expect(((await sprayer.json()) as { message: string }).message).toMatch(/from 203\.0\.113\.7:/);
      // ... its colleagues behind the same proxy are not
      const colleague = await loginOver(proxied.url, 'viewer', PASSWORD, '203.0.113.8');
      expect(colleague.status).toBe(200);
    } finally {
      await proxied.close();
      await h.db.exec('delete from login_throttle'); // 127.0.0.1 must not stay throttled for the next tests
    }
  });

  it('serves login, a write without a body and the event stream through @hono/node-server, and closes', async () => {
    const srv = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
    try {
      const res = await fetch(`${srv.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'operator', password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      const { csrfToken } = (await res.json()) as { csrfToken: string };
      const stream = await fetch(`${srv.url}/api/events`, { headers: { cookie } });
      expect(stream.status).toBe(200);
      await insertFile(h.db, { id: 'http.raw', status: 'error' });
      const ign = await fetch(`${srv.url}/api/files/http.raw/ignore`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken },
      });
      expect(ign.status, await ign.clone().text()).toBe(200);
      const msgs = await readSse(stream, (m) => m.event === 'file');
      expect(JSON.parse(msgs.at(-1)!.data!)).toMatchObject({ subject_id: 'http.raw', to_state: 'ignored' });
    } finally {
      const t0 = Date.now();
      await srv.close();
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  });
});
