import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.ts';
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
});
