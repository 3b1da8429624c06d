import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import type { Db } from '../core/db/db.ts';
import {
  beginLogin,
  DEFAULT_THROTTLE,
  loginFailed,
  loginKeys,
  loginSucceeded,
  verdictOf,
} from './login-throttle.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(async () => {
  await drop?.();
});

const P = DEFAULT_THROTTLE;

/** Moves every count `s` seconds into the past (the statements use the database's clock). */
const later = (s: number) =>
  db.exec(`update login_throttle set last_attempt_at = last_attempt_at - $1 * interval '1 second'`, [s]);

/** One wrong-password attempt: its verdict (the attempt stays counted when allowed). */
async function wrong(name: string, address?: string) {
  const v = await beginLogin(db, loginKeys(name, address), P);
  if (v.allowed) await loginFailed(db, loginKeys(name, address), P);
  return v;
}

const waitOf = (v: Awaited<ReturnType<typeof wrong>>) => (v.allowed ? 0 : v.waitS);

describe('login throttle (in the database)', () => {
  it('lets the first attempts through, then doubles the wait, capped, and forgets on success', async () => {
    for (let i = 0; i < P.freePerUser; i++)
      expect((await wrong(i % 2 ? 'Admin' : 'admin')).allowed).toBe(true);
    const blocked = await wrong('ADMIN '); // names compare case- and space-insensitively
    expect(blocked).toEqual({ allowed: false, by: 'user', waitS: 1, subject: 'admin' });
    await later(1);
    expect((await wrong('admin')).allowed).toBe(true); // the 6th attempt, counted: now 2 s
    expect(waitOf(await wrong('admin'))).toBe(2);
    expect(waitOf(await wrong('admin'))).toBe(2); // turned away: not counted, the wait does not grow
    for (let i = 0; i < 20; i++) {
      await later(P.maxWaitS);
      expect((await wrong('admin')).allowed).toBe(true);
    }
    expect(waitOf(await wrong('admin'))).toBe(P.maxWaitS);
    expect((await wrong('viewer')).allowed).toBe(true); // other users are not affected
    await later(P.maxWaitS);
    const ok = await beginLogin(db, loginKeys('admin', undefined), P);
    expect(ok.allowed).toBe(true);
    await loginSucceeded(db, loginKeys('admin', undefined));
    for (let i = 0; i < P.freePerUser; i++) expect((await wrong('admin')).allowed).toBe(true);
  });

  it('per address: more attempts before the first wait; a success gives its attempt back; forgets after an hour', async () => {
    const from = '10.0.0.7';
    for (let i = 0; i < P.freePerAddress - 1; i++) expect((await wrong(`n${i}`, from)).allowed).toBe(true);
    // a valid login from the same address does not use up the last free attempt ...
    const ok = await beginLogin(db, loginKeys('someone', from), P);
    expect(ok.allowed).toBe(true);
    await loginSucceeded(db, loginKeys('someone', from));
    expect((await wrong('last', from)).allowed).toBe(true);
    // ... the next one waits, whatever the name; a name turned away by the address is not counted
    expect(await wrong('fresh', from)).toEqual({ allowed: false, by: 'address', waitS: 1, subject: from });
    expect(
      (await db.maybeOne(
        `select attempts from login_throttle where kind = 'user' and subject = 'fresh'`,
      )) ?? {
        attempts: 0,
      },
    ).toEqual({ attempts: 0 });
    expect((await wrong('fresh', '10.0.0.8')).allowed).toBe(true); // another address is not affected
    await later(P.forgetS + 1);
    expect((await wrong('again', from)).allowed).toBe(true); // counts from 1 again
    const { attempts } = await db.one<{ attempts: number }>(
      `select attempts from login_throttle where kind = 'address' and subject = $1`,
      [from],
    );
    expect(attempts).toBe(1);
  });

  it('measures the wait from the failure, however long the password check took', async () => {
    const keys = loginKeys('slow-check', undefined);
    for (let i = 0; i < P.freePerUser - 1; i++) expect((await wrong('slow-check')).allowed).toBe(true);
    expect((await beginLogin(db, keys, P)).allowed).toBe(true); // the 5th attempt, counted now ...
    await later(2); // ... and its check took 2 s
    await loginFailed(db, keys, P);
    expect(await wrong('slow-check')).toMatchObject({ allowed: false, waitS: 1 });
  });

  it('prunes counts older than the forget interval after a failed login', async () => {
    await wrong('old-guess', '192.0.2.1');
    await later(P.forgetS + 1);
    await wrong('new-guess');
    const left = await db.query<{ subject: string }>(
      `select subject from login_throttle where subject in ('old-guess', '192.0.2.1', 'new-guess')`,
    );
    expect(left.map((r) => r.subject)).toEqual(['new-guess']);
  });
});

describe('verdictOf', () => {
  const keys = loginKeys(' Bob', '10.1.1.1');
  it('names the counter with the longest wait, the user on a tie', () => {
    expect(keys).toEqual([
      { kind: 'user', subject: 'bob' },
      { kind: 'address', subject: '10.1.1.1' },
    ]);
    expect(verdictOf(keys, new Map())).toEqual({ allowed: true, counted: keys });
    expect(verdictOf(keys, new Map([['address', 4]]))).toMatchObject({ by: 'address', waitS: 4 });
    expect(
      verdictOf(
        keys,
        new Map([
          ['address', 4],
          ['user', 4],
        ]),
      ),
    ).toMatchObject({ by: 'user', subject: 'bob' });
    expect(verdictOf(keys, new Map([['user', 0]]))).toMatchObject({ waitS: 1 }); // never "retry in 0 s"
  });
});
