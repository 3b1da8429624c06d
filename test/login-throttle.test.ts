/**
 * The login throttle under concurrency and across web processes: attempts are counted in the
 * database before the password is checked, so a burst of parallel guesses is cut at the limit, and
 * two servers on one database share the counts (per user name and per client address).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { startServer } from '../src/api/server.ts';
import { DEFAULT_THROTTLE } from '../src/auth/login-throttle.ts';
import { createUser } from '../src/auth/users.ts';
import { createDb, type Db } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { type ApiHarness, call, createApiHarness, PASSWORD } from './helpers/api.ts';

// A first wait of 5 minutes: the exact counts below do not depend on how fast this machine is.
const loginThrottle = { firstWaitS: 300 };

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness({ loginThrottle });
  await createUser(h.db, { name: 'target', role: 'viewer', password: PASSWORD }, 'test');
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await h.db.exec('delete from login_throttle');
});

const login = (url: string, name: string, password: string) =>
  fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });

/** How many answers had each status. */
function tally(statuses: number[]): Record<number, number> {
  const t: Record<number, number> = {};
  for (const s of statuses) t[s] = (t[s] ?? 0) + 1;
  return t;
}

describe('login throttle under concurrency', () => {
  it('answers 429 to exactly the parallel wrong passwords over the per-user limit', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        call(h.app, '/api/login', { body: { name: 'target', password: 'wrong password!' } }),
      ),
    );
    expect(tally(answers.map((r) => r.status))).toEqual({
      401: DEFAULT_THROTTLE.freePerUser,
      429: 30 - DEFAULT_THROTTLE.freePerUser,
    });
    const blocked = answers.find((r) => r.status === 429)!;
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    const body = (await blocked.json()) as { code: string; message: string; retryAfter: number };
    expect(body.code).toBe('auth.throttled');
    expect(body.message).toMatch(/too many failed logins for 'target': try again in \d+ s/);
    expect(body.retryAfter).toBe(retryAfter);
    // the right password waits too: a guess is not confirmed
    const right = await call(h.app, '/api/login', { body: { name: 'target', password: PASSWORD } });
    expect(right.status).toBe(429);
  });

  it('answers 429 to exactly the parallel attempts from one address over the per-address limit', async () => {
    const srv = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => login(srv.url, `spray${i}`, 'wrong password!')),
      );
      expect(tally(answers.map((r) => r.status))).toEqual({
        401: DEFAULT_THROTTLE.freePerAddress,
        429: 30 - DEFAULT_THROTTLE.freePerAddress,
      });
      const blocked = answers.find((r) => r.status === 429)!;
      expect(((await blocked.json()) as { message: string }).message).toMatch(
        /too many failed logins from 127\.0\.0\.1: try again in \d+ s/,
      );
    } finally {
      await srv.close();
    }
  });

  it('shares the counts between two servers on one database', async () => {
    const otherDb: Db = createDb(h.db.url, { max: 4 });
    // two applications as two web processes build them: each its own pool, nothing shared in memory
    const a = await startServer(createApp({ ...h.deps }), { host: '127.0.0.1', port: 0, log: silentLogger });
    const b = await startServer(createApp({ ...h.deps, db: otherDb }), {
      host: '127.0.0.1',
      port: 0,
      log: silentLogger,
    });
    try {
      for (let i = 0; i < DEFAULT_THROTTLE.freePerUser; i++) {
        const r = await login(i % 2 ? b.url : a.url, 'target', 'wrong password!');
        expect(r.status, `attempt ${i + 1}`).toBe(401);
      }
      for (const url of [a.url, b.url]) {
        const r = await login(url, 'target', PASSWORD);
        expect(r.status, url).toBe(429);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // another user is not affected, on either server
      expect((await login(b.url, 'viewer', PASSWORD)).status).toBe(200);
    } finally {
      await a.close();
      await b.close();
      await otherDb.close();
    }
  });

  it('lets a user log in again at once after a successful login (the count is reset)', async () => {
    const app = createApp({ ...h.deps });
    for (let i = 0; i < DEFAULT_THROTTLE.freePerUser - 1; i++) {
      const r = await call(app, '/api/login', { body: { name: 'target', password: 'wrong password!' } });
      expect(r.status).toBe(401);
    }
    expect((await call(app, '/api/login', { body: { name: 'target', password: PASSWORD } })).status).toBe(
      200,
    );
    for (let i = 0; i < DEFAULT_THROTTLE.freePerUser; i++) {
      const r = await call(app, '/api/login', { body: { name: 'target', password: 'wrong password!' } });
      expect(r.status).toBe(401);
    }
  });
});
