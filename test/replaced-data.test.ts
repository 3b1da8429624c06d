/**
 * A record never claims bytes it did not acquire (issue #16, item 1): raw data replaced or changed on
 * the instrument after its acquisition was declared finished and before any copy existed ends its
 * record `lost`; what the name holds now is backed up under its own record. With the copy pool
 * drained (pool size 0) so the replacement lands between acquisition and copy, on real files, real
 * PostgreSQL, in-process and with `sluice start` workers killed by SIGKILL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb } from '../src/core/db/db.ts';
import { setPoolSize, syncPools } from '../src/engine/pools.ts';
import { type FileRow, getFile } from '../src/files/repo.ts';
import { fileErrors } from '../src/ops/alerts/rules.ts';
import { retryFile } from '../src/pipeline/actions.ts';
import { utimeSeconds } from '../src/storage/fsutil.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { SLUICE_BIN } from './helpers/cli.ts';
import { KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const MiB = 1024 * 1024;

/** The records of `name` on `instrument`, oldest first. */
async function records(db: Pipeline['db'], instrument: string, name: string): Promise<FileRow[]> {
  return db.query<FileRow>(
    'select * from files where instrument_id = $1 and name = $2 order by created_at, id',
    [instrument, name],
  );
}

/** The record after `first` of the same name, once it is in one of `statuses`. */
function nextRecord(
  db: Pipeline['db'],
  instrument: string,
  name: string,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<FileRow> {
  return waitFor(
    `a second record of ${name} in ${statuses.join('|')}`,
    async () => {
      const r = await records(db, instrument, name);
      return r.length >= 2 && statuses.includes(r[1]!.status) ? r[1] : undefined;
    },
    timeoutMs,
    50,
  );
}

async function copyRows(db: Pipeline['db'], fileId: string) {
  return db.query<{ state: string; location: string; bytes: string }>(
    'select state, location, bytes from copies where file_id = $1 order by id',
    [fileId],
  );
}

async function partials(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String).filter((e) => e.includes('sluice-partial'));
}

describe('data replaced between acquisition and backup', () => {
  it('ends the record lost, backs up the new content under its own record, and never rewrites the size', async () => {
    p = await createPipeline(standardConfig());
    await setPoolSize(p.db, 'copy', 0, 'test'); // drained: acquired files wait for their copy
    const src = path.join(p.root, 'astral1', 'A.raw');
    const first = randomBytes(MiB);
    await writeFile(src, first);
    await p.start();
    const acquired = await p.waitStatus('A.raw', 'acquired');
    expect(acquired.acquired_fingerprint).toMatchObject({
      size: MiB,
      members: [{ rel: 'A.raw', size: MiB }],
    });

    await rm(src);
    const second = randomBytes(512 * 1024);
    await writeFile(src, second);
    const collision = await nextRecord(p.db, 'astral1', 'A.raw', ['acquired']);
    expect((await p.timeline(collision.id))[0]).toMatch(/the name A\.raw reappeared with other content/);
    // what a copy of A.raw killed earlier would have left behind: swept when the record ends lost
    const leftover = path.join(
      path.dirname(backupLocation(p.config, acquired)),
      '.A.raw.sluice-partial',
      '0123456789ab',
    );
    await mkdir(path.dirname(leftover), { recursive: true });
    await writeFile(leftover, first.subarray(0, 1000));
    await setPoolSize(p.db, 'copy', null, 'test'); // undrained

    const lost = await p.waitStatus('A.raw', 'lost');
    const backed = await p.waitStatus(collision.id, 'done_not_processed');
    expect(Number(lost.size_bytes)).toBe(MiB); // what it acquired, not what was copied under another record
    expect(lost.status_reason).toMatch(/replaced or changed on the instrument before any copy was made/);
    expect(lost.status_reason).toContain(`recorded as ${collision.id}`);
    expect(lost.instrument_copy).toBe('missing');
    expect(await copyRows(p.db, 'A.raw')).toEqual([]);
    expect(existsSync(backupLocation(p.config, lost))).toBe(false);

    expect(Number(backed.size_bytes)).toBe(512 * 1024);
    const rows = await copyRows(p.db, collision.id);
    expect(rows).toEqual([
      { state: 'verified', location: backupLocation(p.config, backed), bytes: String(512 * 1024) },
    ]);
    expect((await readFile(backupLocation(p.config, backed))).equals(second)).toBe(true);
    expect(await partials(path.join(p.root, 'backup'))).toEqual([]);

    // a retry cannot back up other bytes under the lost record
    await expect(retryFile(p.db, p.config, 'A.raw', 'test')).rejects.toThrow(/is lost/);
    // the operator is told
    const events = await p.db.query<{ id: string; subject_id: string; reason: string; at: Date }>(
      `select id::text, subject_id, reason, at from events where subject_id = 'A.raw' and to_state = 'lost'`,
    );
    const [alert] = fileErrors({
      errorEvents: events.map((e) => ({ ...e, name: 'A.raw', to_state: 'lost' })),
    } as never);
    expect(alert).toMatchObject({ rule: 'file_error', subject: 'A.raw', severity: 'critical' });
    expect(alert!.title).toBe('File A.raw lost before its backup');
  });

  it('ends a Bruker .d record lost when a member was removed and another replaced, and backs up the folder as it is now under the new record', async () => {
    p = await createPipeline(standardConfig());
    await setPoolSize(p.db, 'copy', 0, 'test');
    const run = path.join(p.root, 'tims1', 'run1.d');
    await mkdir(path.join(run, 'sub'), { recursive: true });
    await writeFile(path.join(run, 'analysis.tdf'), 'meta');
    await writeFile(path.join(run, 'analysis.tdf_bin'), randomBytes(200_000));
    await writeFile(path.join(run, 'sub', 'frames.bin'), randomBytes(50_000));
    await p.start();
    const acquired = await p.waitStatus('run1.d', 'acquired');
    expect(acquired.acquired_fingerprint?.members?.map((m) => m.rel)).toEqual([
      'analysis.tdf',
      'analysis.tdf_bin',
      'sub/frames.bin',
    ]);

    await rm(path.join(run, 'sub', 'frames.bin'));
    const bin = randomBytes(200_000); // the same size, other bytes
    await writeFile(path.join(run, 'analysis.tdf_bin'), bin);
    const collision = await nextRecord(p.db, 'tims1', 'run1.d', ['acquired']);
    await setPoolSize(p.db, 'copy', null, 'test');

    const lost = await p.waitStatus('run1.d', 'lost');
    const backed = await p.waitStatus(collision.id, 'done_not_processed');
    expect(lost.status_reason).toMatch(/sub\/frames\.bin: gone/);
    expect(await copyRows(p.db, 'run1.d')).toEqual([]);
    expect(existsSync(backupLocation(p.config, lost))).toBe(false);
    const dest = backupLocation(p.config, backed);
    expect(backed.manifest!.entries.map((e) => e.rel)).toEqual(['analysis.tdf', 'analysis.tdf_bin']);
    expect((await readFile(path.join(dest, 'analysis.tdf_bin'))).equals(bin)).toBe(true);
    expect(existsSync(path.join(dest, 'sub', 'frames.bin'))).toBe(false);
  });

  it('ends a Sciex set lost when a companion is gone, and backs up the set as it is now', async () => {
    p = await createPipeline(standardConfig());
    await setPoolSize(p.db, 'copy', 0, 'test');
    const zeno = path.join(p.root, 'zeno1');
    const main = randomBytes(30_000);
    await writeFile(path.join(zeno, 'inj1.wiff'), main);
    await writeFile(path.join(zeno, 'inj1.wiff.scan'), randomBytes(70_000));
    await p.start();
    const acquired = await p.waitStatus('inj1.wiff', 'acquired');
    expect(acquired.acquired_fingerprint?.members?.map((m) => m.rel)).toEqual([
      'inj1.wiff',
      'inj1.wiff.scan',
    ]);
    await rm(path.join(zeno, 'inj1.wiff.scan'));
    const collision = await nextRecord(p.db, 'zeno1', 'inj1.wiff', ['acquired']);
    await setPoolSize(p.db, 'copy', null, 'test');
    const lost = await p.waitStatus('inj1.wiff', 'lost');
    expect(lost.status_reason).toMatch(/inj1\.wiff\.scan: gone/);
    const backed = await p.waitStatus(collision.id, 'done_not_processed');
    expect(await readdir(backupLocation(p.config, backed))).toEqual(['inj1.wiff']);
    expect((await readFile(path.join(backupLocation(p.config, backed), 'inj1.wiff'))).equals(main)).toBe(
      true,
    );
    expect(await copyRows(p.db, 'inj1.wiff')).toEqual([]);
  });

  it('records as new data a folder changed in a way the scan cannot see (same total size and newest mtime)', async () => {
    p = await createPipeline(standardConfig());
    await setPoolSize(p.db, 'copy', 0, 'test');
    const run = path.join(p.root, 'tims1', 'run2.d');
    await mkdir(run);
    const old = new Date('2026-01-01T00:00:00Z');
    const newest = new Date('2026-01-02T00:00:00Z');
    await writeFile(path.join(run, 'analysis.tdf_bin'), randomBytes(10_000));
    await writeFile(path.join(run, 'analysis.tdf'), 'meta');
    await utimes(path.join(run, 'analysis.tdf_bin'), old, old);
    await utimes(path.join(run, 'analysis.tdf'), old, old);
    await utimes(run, newest, newest); // the folder's own mtime is the newest the scan sees
    await p.start();
    await p.waitStatus('run2.d', 'acquired');
    // the same size and other bytes, written in place, its mtime set back to another old time
    const other = randomBytes(10_000);
    await writeFile(path.join(run, 'analysis.tdf_bin'), other);
    const older = new Date('2025-12-31T00:00:00Z');
    await utimes(path.join(run, 'analysis.tdf_bin'), older, older);
    await utimes(run, newest, newest);
    await new Promise((r) => setTimeout(r, 1000)); // scans go on: same size and mtime, no new record
    expect((await records(p.db, 'tims1', 'run2.d')).length).toBe(1);
    await setPoolSize(p.db, 'copy', null, 'test');
    const lost = await p.waitStatus('run2.d', 'lost');
    expect(lost.status_reason).toMatch(/analysis\.tdf_bin: modified 2025-12-31/);
    expect(lost.status_reason).toMatch(/recorded as new data by the next scan/);
    const again = await nextRecord(p.db, 'tims1', 'run2.d', ['done_not_processed']);
    expect((await p.timeline(again.id))[0]).toMatch(
      /holds other data than the earlier record run2\.d acquired/,
    );
    const dest = backupLocation(p.config, again);
    expect((await readFile(path.join(dest, 'analysis.tdf_bin'))).equals(other)).toBe(true);
  });

  it('records the copy an earlier attempt put in place when the source was replaced afterwards', async () => {
    p = await createPipeline(standardConfig());
    await setPoolSize(p.db, 'copy', 0, 'test');
    const src = path.join(p.root, 'astral1', 'B.raw');
    const first = randomBytes(100_000);
    await writeFile(src, first);
    await p.start();
    const acquired = await p.waitStatus('B.raw', 'acquired');
    // as if an attempt had copied, verified and renamed it into place, then was killed before the
    // database heard of it (copies keep the file's mtime)
    const dest = backupLocation(p.config, acquired);
    await mkdir(path.dirname(dest), { recursive: true });
    await cp(src, dest);
    // the times to the microsecond, as Sluice's copies keep them (cp's preserveTimestamps passes
    // milliseconds, and an exact millisecond can land 1 µs low: storage/fsutil.ts utimeSeconds)
    const times = await stat(src, { bigint: true });
    await utimes(dest, utimeSeconds(times.atimeNs), utimeSeconds(times.mtimeNs));
    await writeFile(src, randomBytes(100_001));
    const collision = await nextRecord(p.db, 'astral1', 'B.raw', ['acquired']);
    await setPoolSize(p.db, 'copy', null, 'test');
    const kept = await p.waitStatus('B.raw', 'done_not_processed');
    expect(Number(kept.size_bytes)).toBe(100_000);
    expect((await copyRows(p.db, 'B.raw')).map((c) => c.state)).toEqual(['verified']);
    expect((await p.timeline('B.raw')).join('\n')).toMatch(
      /the copy an earlier attempt made at .* is recorded/,
    );
    expect((await readFile(dest)).equals(first)).toBe(true);
    const other = await p.waitStatus(collision.id, 'done_not_processed');
    expect(Number(other.size_bytes)).toBe(100_001);
  });
});

/** 8 MiB parts of the replacing content: 96 MiB, so that the copy is still running when it is killed. */
const PARTS = 12;

describe('data replaced, with a worker killed by SIGKILL mid-copy', () => {
  // Two `sluice start` processes one after the other, each starting up, scanning and copying: on this
  // shared 2-core machine under load that took longer than the suite's 120 s default. A bound, not a
  // wait: every step waits on a condition.
  it('ends the same way after another worker takes over', async () => {
    p = await createPipeline(standardConfig()); // only for its directory and database
    const { root, url } = p;
    const cfg = path.join(root, 'sluice-kill.yaml');
    await writeFile(cfg, KILLED_WORKER_CONFIG);
    await syncPools(p.db, { copy: 3 });
    await setPoolSize(p.db, 'copy', 0, 'test');
    const src = path.join(root, 'astral1', 'A.raw');
    await writeFile(src, randomBytes(MiB));
    const env = { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn' };
    const start = () =>
      spawnTs(SLUICE_BIN, { ...env }, { ready: 'running', args: ['start', '--role', 'worker'] });
    const db = createDb(url);
    let worker = await start();
    try {
      await waitFor(
        'A.raw acquired',
        async () => (await getFile(db, 'A.raw'))?.status === 'acquired',
        120_000,
      );
      // other content under the same name, large enough that its copy takes a while
      await rm(src);
      const big = randomBytes(8 * MiB);
      await writeFile(src, '');
      for (let i = 0; i < PARTS; i++) await writeFile(src, big, { flag: 'a' });
      const collision = await nextRecord(db, 'astral1', 'A.raw', ['acquired'], 120_000);
      await setPoolSize(db, 'copy', null, 'test');
      await waitFor(
        'a partial copy on disk',
        async () => (await partials(path.join(root, 'backup'))).length > 0,
        120_000,
        20,
      );
      worker.kill('SIGKILL');
      await waitExit(worker);
      worker = await start();
      const done = await waitFor(
        `${collision.id} backed up`,
        async () => {
          const f = await getFile(db, collision.id);
          return f?.status === 'done_not_processed' ? f : undefined;
        },
        180_000,
        200,
      );
      const lost = await waitFor('A.raw lost', async () => {
        const f = await getFile(db, 'A.raw');
        return f?.status === 'lost' ? f : undefined;
      });
      expect(Number(lost.size_bytes)).toBe(MiB);
      expect(await db.query(`select 1 from copies where file_id = 'A.raw'`)).toEqual([]);
      expect(Number(done.size_bytes)).toBe(PARTS * 8 * MiB);
      const dest = backupLocation(
        {
          backup: { path: path.join(root, 'backup'), layout: '{instrument}/{yyyy}_{mm}/{file_id}' },
        } as never,
        done,
      );
      const copied = await readFile(dest);
      expect(copied.length).toBe(PARTS * 8 * MiB);
      for (let i = 0; i < PARTS; i++)
        expect(copied.subarray(i * 8 * MiB, (i + 1) * 8 * MiB).equals(big)).toBe(true);
      expect(
        existsSync(
          backupLocation(
            {
              backup: { path: path.join(root, 'backup'), layout: '{instrument}/{yyyy}_{mm}/{file_id}' },
            } as never,
            lost,
          ),
        ),
      ).toBe(false);
      expect(await partials(path.join(root, 'backup'))).toEqual([]);
    } finally {
      worker.kill('SIGTERM');
      await waitExit(worker);
      await db.close();
    }
  });
});
