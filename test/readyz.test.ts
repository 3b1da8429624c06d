/**
 * `/readyz` says to strangers only what is wrong; why (the driver's error with host and port, the
 * schema versions) goes to the log and to callers with a login or an API token.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createDb } from '../src/core/db/db.ts';
import { schemaVersion } from '../src/core/db/migrate.ts';
import { type ApiHarness, call, createApiHarness, login } from './helpers/api.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A logger that keeps its lines. */
function memoryLog() {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
}

describe('/readyz', () => {
  it('does not tell an anonymous caller where the unreachable database is; the log has it', async () => {
    // nothing listens on port 1: the driver's error reads "connect ECONNREFUSED 127.0.0.1:1"
    const down = createDb('postgres://sluice:secret@127.0.0.1:1/sluice', { max: 1 });
    const { log, lines } = memoryLog();
    const app = createApp({ ...h.deps, db: down, log });
    try {
      const anon = await call(app, '/readyz');
      expect(anon.status).toBe(503);
      const body = (await anon.json()) as { ok: boolean; reason: string; hint: string };
      expect(body).toMatchObject({ ok: false, reason: 'database unreachable' });
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:1\b/);
      expect(body.hint).toMatch(/server log/);
      // a token cannot be checked without the database: still no detail, and no error
      const withToken = await call(app, '/readyz', { token: h.tokens.viewer });
      expect(withToken.status).toBe(503);
      expect(JSON.stringify(await withToken.json())).not.toMatch(/127\.0\.0\.1/);
      expect(lines.join('')).toMatch(/127\.0\.0\.1:1/);
      expect(lines.filter((l) => l.includes('readyz: not ready'))).toHaveLength(1); // logged once, not per probe
    } finally {
      await down.close();
    }
  });

  it('gives the detail to a caller with a token or a session (any role), not to a stranger', async () => {
    const { log, lines } = memoryLog();
    const app = createApp({ ...h.deps, log });
    await h.db.exec(`insert into sluice_migrations (version, name) values (9999, 'from_the_future')`);
    try {
      const anon = await call(app, '/readyz');
      expect(anon.status).toBe(503);
      expect(await anon.json()).toMatchObject({
        ok: false,
        reason: 'the database schema is not the one this program needs',
      });
      const detail = `schema version 9999, need ${schemaVersion()}`;
      const token = await call(app, '/readyz', { token: h.tokens.viewer });
      expect(((await token.json()) as { reason: string }).reason).toContain(detail);
      const session = await login(app, 'operator');
      const viaSession = await call(app, '/readyz', { session });
      expect(((await viaSession.json()) as { reason: string }).reason).toContain(detail);
      const badToken = await call(app, '/readyz', { token: 'not-a-token' });
      expect(badToken.status).toBe(503);
      expect(JSON.stringify(await badToken.json())).not.toContain('9999');
      expect(lines.join('')).toContain(detail);
    } finally {
      await h.db.exec('delete from sluice_migrations where version = 9999');
    }
    expect(await (await call(app, '/readyz')).json()).toEqual({ ok: true, schema: schemaVersion() });
  });
});
