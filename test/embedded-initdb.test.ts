/**
 * The first start of embedded PostgreSQL hands initdb the superuser password in a file: that file
 * must be readable by nobody else while it exists, and gone afterwards. A watcher stats it the
 * moment it appears (initdb runs for seconds, so the file is seen while it is in use).
 */
import { watch } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { silentLogger } from '../src/core/log.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('embedded PostgreSQL first start', () => {
  it('gives initdb its password in a file only its user can read, and removes it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-initdb-'));
    dirs.push(dir);
    const seen: { name: string; mode: number }[] = [];
    const pending: Promise<void>[] = [];
    const watcher = watch(dir, (_event, name) => {
      if (!name?.startsWith('.pwfile-')) return;
      pending.push(
        stat(path.join(dir, name)).then(
          (st) => void seen.push({ name, mode: st.mode & 0o777 }),
          () => undefined, // already removed: another event of the same file was seen first
        ),
      );
    });
    let server: Awaited<ReturnType<typeof startEmbedded>> | undefined;
    try {
      server = await startEmbedded({
        dataDir: dir,
        port: await freePort(),
        log: silentLogger,
        settings: { fsync: 'off' },
      });
    } finally {
      watcher.close();
      await Promise.all(pending);
      await server?.stop();
    }
    expect(seen.length, 'the password file was seen while initdb ran').toBeGreaterThan(0);
    for (const s of seen) expect(s.mode.toString(8), s.name).toBe('600');
    expect((await readdir(dir)).filter((n) => n.startsWith('.pwfile-'))).toEqual([]);
    expect((await stat(path.join(dir, 'postgres.credentials.json'))).mode & 0o777).toBe(0o600);
  });
});
