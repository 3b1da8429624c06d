import { pbkdf2, randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HASHES_AT_ONCE, hashPassword, MAX_QUEUED_HASHES, verifyPassword } from './password.ts';
import { generatePassword, safeEqual } from './secret.ts';

describe('passwords', () => {
  it('hashes with a fresh salt and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', a)).toBe(false);
  });

  it('treats a malformed or tampered hash as a mismatch', async () => {
    const h = await hashPassword('pw');
    for (const bad of ['', 'plain', h.replace('$32768$', '$1073741824$'), h.replace(/\$[^$]+$/, '$AA')])
      expect(await verifyPassword('pw', bad), bad).toBe(false);
  });

  it('generates typeable passwords and compares secrets of any length', () => {
    expect(generatePassword()).toMatch(/^[A-Za-z2-9]{20}$/);
    expect(new Set(Array.from({ length: 50 }, () => generatePassword())).size).toBe(50);
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });

  it('leaves room in the thread pool for the database driver during a burst of logins', async () => {
    const h = await hashPassword('pw');
    let done = 0;
    const burst = Array.from({ length: 24 }, () =>
      verifyPassword('wrong', h).then(() => {
        done++;
      }),
    );
    await new Promise((r) => setImmediate(r)); // the burst's first hashes are running now
    // what pg does for a new connection's SCRAM handshake: pbkdf2, in the same thread pool
    const doneWhenConnected = await new Promise<number>((resolve, reject) =>
      pbkdf2('pw', 'salt', 4096, 32, 'sha256', (err) => (err ? reject(err) : resolve(done))),
    );
    await Promise.all(burst);
    expect(done).toBe(24);
    // unlimited, the handshake waited behind about 20 of the 24 hashes (4 threads, first come first served)
    expect(doneWhenConnected).toBeLessThan(12);
  });

  it('turns a check away (auth.busy, 429) when too many are waiting already', async () => {
    // a cheap but valid hash (N = 2^10), so that a few hundred checks stay quick
    const salt = randomBytes(16);
    const key = scryptSync('pw', salt, 32, { N: 1024, r: 8, p: 1 });
    const cheap = ['scrypt', 1024, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    const results = await Promise.all(
      Array.from({ length: HASHES_AT_ONCE + MAX_QUEUED_HASHES + 1 }, () =>
        verifyPassword('pw', cheap).then(
          (ok) => ok,
          (err: { code?: string; status?: number }) => `${err.code} ${err.status}`,
        ),
      ),
    );
    expect(results.filter((r) => r !== true)).toEqual(['auth.busy 429']);
    expect(results.at(-1)).toBe('auth.busy 429');
    expect(await verifyPassword('pw', cheap)).toBe(true); // the line has cleared
  });
});
