/**
 * The first admin's one-time password reaches a person, not a log: printed only to a terminal;
 * otherwise written to a file only its owner can read, and only the file's path is printed.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticate } from '../src/auth/users.ts';
import { announceFirstAdmin, FIRST_ADMIN_FILE } from '../src/cli/users.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
let dir: string;
beforeEach(async () => {
  ({ db, drop } = await createTestDb());
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-first-admin-'));
});
afterEach(async () => {
  await drop?.();
  await rm(dir, { recursive: true, force: true });
});

/** A stream that keeps what is written; `isTTY` as a terminal or a pipe would say. */
function output(isTTY: boolean) {
  const s = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { s, text: () => text };
}

describe('announceFirstAdmin', () => {
  it('writes the password to a 0600 file in the data dir when the output is not a terminal, and prints only where', async () => {
    const dataDir = path.join(dir, 'data'); // not there yet
    const out = output(false);
    expect(await announceFirstAdmin(db, out.s, 'http://127.0.0.1:8080', dataDir)).toBe(true);
    const file = path.join(dataDir, FIRST_ADMIN_FILE);
    const password = (await readFile(file, 'utf8')).trim();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await authenticate(db, 'admin', password)).toMatchObject({
      name: 'admin',
      must_change_password: true,
    });
    expect(out.text()).toContain(file);
    expect(out.text()).not.toContain(password);
    expect(out.text()).not.toMatch(/one-time password: /);
    // once only
    const again = output(false);
    expect(await announceFirstAdmin(db, again.s, undefined, dataDir)).toBe(false);
    expect(again.text()).toBe('');
  });

  it('replaces a stale file that others could read', async () => {
    const file = path.join(dir, FIRST_ADMIN_FILE);
    await writeFile(file, 'old\n', { mode: 0o644 });
    await announceFirstAdmin(db, output(false).s, undefined, dir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).not.toBe('old');
  });

  it('when the file cannot be written (a read-only mount), says so and how to get a password, and does not print it', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, ''); // data_dir below a file: mkdir fails, as on a read-only mount
    const out = output(false);
    expect(await announceFirstAdmin(db, out.s, undefined, path.join(blocker, 'data'))).toBe(true);
    expect(out.text()).toMatch(/could not be written to .*not-a-dir/);
    expect(out.text()).toContain('sluice users reset-password admin');
    expect(out.text()).not.toMatch(/one-time password: /);
    const row = await db.one<{ n: string }>(`select count(*) as n from users where name = 'admin'`);
    expect(row.n).toBe('1');
  });

  it('prints the password to a terminal and writes no file', async () => {
    const out = output(true);
    expect(await announceFirstAdmin(db, out.s, undefined, dir)).toBe(true);
    const password = /one-time password: (\S+)/.exec(out.text())?.[1];
    expect(password).toBeDefined();
    expect(await authenticate(db, 'admin', password!)).toMatchObject({ name: 'admin' });
    await expect(stat(path.join(dir, FIRST_ADMIN_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
