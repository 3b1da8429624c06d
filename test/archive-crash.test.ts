/**
 * Archives survive a `sluice start` worker killed with SIGKILL in the middle of writing an archive:
 * nothing of the cut-short write counts (the archive stays `writing`, its item `packing`), and the
 * next worker writes it again from the start, reads it back and verifies it; no `.partial` is left.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archivesOfFile, itemsOfFile, membersOf } from '../src/archive/repo.ts';
import { SLUICE_BIN } from './helpers/cli.ts';
import { KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { createTestDb } from './helpers/db.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

async function bigFile(file: string, mib: number): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    block.fill(i % 251);
    block.writeUInt32LE(i, 0);
    h.update(block);
    await fh.write(block);
  }
  await fh.close();
  return h.digest('hex');
}

async function partialSize(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of await readdir(dir, { recursive: true })) {
    if (String(e).endsWith('.partial')) n += (await stat(path.join(dir, String(e)))).size;
  }
  return n;
}

describe('archive under crashes', () => {
  let root: string;
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-archive-crash-'));
    ({ url, drop } = await createTestDb());
  });
  afterAll(async () => {
    await drop();
    await rm(root, { recursive: true, force: true });
  });

  it('writes the archive again after the worker is killed mid-write; only the verified one counts', async () => {
    await mkdir(path.join(root, 'astral1'), { recursive: true });
    const lts = path.join(root, 'lts');
    await mkdir(lts);
    const cfg = path.join(root, 'sluice.yaml');
    await writeFile(
      cfg,
      `${KILLED_WORKER_CONFIG}archive:
  targets: [{ name: lts, type: filesystem, path: ./lts, min_free_share: 0 }]
  policies: [{ name: all, targets: [lts] }]
`,
    );
    const digest = await bigFile(path.join(root, 'astral1', 'big.raw'), 200);
    const env = { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn' };
    const start = () =>
      spawnTs(SLUICE_BIN, { ...env }, { ready: 'running', args: ['start', '--role', 'worker'] });
    const first = await start();
    const { createDb } = await import('../src/core/db/db.ts');
    const db = createDb(url);
    try {
      await waitFor('an archive being written', async () => (await partialSize(lts)) > 0, 300_000, 20);
      first.kill('SIGKILL');
      await waitExit(first);
      const [cut] = await itemsOfFile(db, 'big.raw');
      expect(cut?.state).toBe('packing'); // the cut-short write counts for nothing
      expect((await archivesOfFile(db, 'big.raw')).map((a) => a.state)).toEqual(['writing']);
      const second = await start();
      try {
        await waitFor(
          'big.raw archived',
          async () => (await itemsOfFile(db, 'big.raw'))[0]?.state === 'archived',
          300_000,
          200,
        );
        const archives = await archivesOfFile(db, 'big.raw');
        expect(archives.map((a) => a.state)).toEqual(['archived']);
        expect(archives[0]!.attempts).toBe(1); // adopted and written again, not a second archive
        const members = await membersOf(db, archives[0]!.id);
        expect(members.map((m) => m.sha256)).toEqual([digest]);
        expect(await partialSize(lts)).toBe(0);
        expect(existsSync(archives[0]!.location)).toBe(true);
      } finally {
        second.kill('SIGTERM');
        await waitExit(second);
      }
    } finally {
      await db.close();
    }
  });
});
