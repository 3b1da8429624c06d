/**
 * A filesystem backup target (issue #19) under a crash: a real `sluice start` worker killed with
 * SIGKILL while it writes a 200 MiB file's copy to the second target (its temp under the target's
 * `.<name>.sluice-partial` folder holds bytes). The next worker takes the task over after the lease,
 * sweeps the temp, copies again from the verified primary copy and verifies: exactly one verified
 * copy on the target, nothing left under a partial name, the primary untouched.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { verifiedCopy } from '../src/files/repo.ts';
import { SLUICE_BIN } from './helpers/cli.ts';
import { instrumentYaml } from './helpers/config-text.ts';
import { createTestDb } from './helpers/db.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

async function bigFile(file: string, mib: number): Promise<void> {
  const fh = await open(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    block.fill(i % 251);
    block.writeUInt32LE(i, 0);
    await fh.write(block);
  }
  await fh.close();
}

/** Bytes in temps under `.…sluice-partial` folders below `dir`. */
async function partialBytes(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of (await readdir(dir, { recursive: true })) as string[]) {
    if (!e.split(path.sep).some((s) => s.endsWith('.sluice-partial'))) continue;
    const st = await stat(path.join(dir, e)).catch(() => undefined);
    if (st?.isFile()) n += st.size;
  }
  return n;
}

async function partialNames(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).filter((e) => e.includes('sluice-partial'));
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

async function verifiedOn(db: Db, id: string, target: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `select count(*) as n from copies where file_id = $1 and target = $2 and state = 'verified'`,
    [id, target],
  );
  return Number(rows[0]!.n);
}

describe('filesystem target: worker killed with SIGKILL mid-copy', () => {
  let root: string;
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-fskill-'));
    ({ url, drop } = await createTestDb());
  });
  afterAll(async () => {
    await drop?.();
    await rm(root, { recursive: true, force: true });
  });

  it('the next worker sweeps the temp, copies again from the primary and verifies: one verified copy', async () => {
    const watch = path.join(root, 'astral1');
    const second = path.join(root, 'second');
    await mkdir(watch, { recursive: true });
    await mkdir(path.join(root, 'backup'));
    const cfg = path.join(root, 'sluice.yaml');
    await writeFile(
      cfg,
      `data_dir: ${root}/data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
backup:
  path: ${root}/backup
  targets:
    - { name: second, type: filesystem, path: ${second} }
instruments:
${instrumentYaml(root)}
`,
    );
    await bigFile(path.join(watch, 'big.raw'), 200);
    const env = { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn' };
    const start = () => spawnTs(SLUICE_BIN, env, { ready: 'running', args: ['start', '--role', 'worker'] });
    const { createDb } = await import('../src/core/db/db.ts');
    const db = createDb(url);
    const first = await start();
    try {
      await waitFor(
        'bytes of the copy to the second target in its temp',
        async () => (await partialBytes(second)) > 0,
        180_000,
        10,
      );
      first.kill('SIGKILL');
      await waitExit(first);
      expect(await verifiedOn(db, 'big.raw', 'second')).toBe(0);
      expect(await partialNames(second)).not.toEqual([]); // the killed attempt's temp
      const next = await start();
      try {
        await waitFor(
          'a verified copy on the second target',
          () => verifiedCopy(db, 'big.raw', 'second'),
          300_000,
          200,
        );
      } finally {
        next.kill('SIGTERM');
        await waitExit(next);
      }
      expect(await verifiedOn(db, 'big.raw', 'second')).toBe(1);
      expect(await verifiedOn(db, 'big.raw', 'backup')).toBe(1);
      expect(await partialNames(second)).toEqual([]);
      const primary = await verifiedCopy(db, 'big.raw', 'backup');
      const copy = await verifiedCopy(db, 'big.raw', 'second');
      expect(copy!.location.startsWith(second + path.sep)).toBe(true);
      expect(await sha256File(copy!.location)).toBe(primary!.manifest.entries[0]!.hash);
      expect(copy!.manifest.entries).toEqual(
        primary!.manifest.entries.map((e) =>
          expect.objectContaining({ rel: e.rel, size: e.size, hash: e.hash }),
        ),
      );
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      await db.close();
    }
  });
});
