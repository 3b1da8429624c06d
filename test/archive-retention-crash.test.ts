/**
 * Backup retention under kill -9 (src/archive/retention.ts): a real `sluice start --role worker`
 * killed with SIGKILL in the middle of a retention pass over many archived sets leaves no row that
 * lies — every `verified` backup still has its bytes, every released one whose removal is recorded
 * has none — and the next worker finishes the pass. A release cut short after its commit (the row
 * `released`, the bytes still there) is finished by the next pass.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finishReleases } from '../src/archive/retention.ts';
import { loadConfig } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { markCopyReleased, verifiedBackupsOf } from '../src/files/releases.ts';
import { enqueueTask, Kind } from '../src/tasks/catalogue.ts';
import { KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { type CrashBed, crashBed, killWhen, withWorker } from './helpers/kill.ts';
import { waitFor } from './helpers/spawn.ts';

const N = 40;
const CONFIG = `${KILLED_WORKER_CONFIG}archive:
  targets: [{ name: lts, type: filesystem, path: ./lts, min_free_share: 0 }]
  policies: [{ name: all, targets: [lts] }]
  backup_retention: { require: [lts], after_days: 0, interval_minutes: 1440 }
`;

let bed: CrashBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

interface Row {
  id: string;
  file_id: string;
  location: string;
  state: string;
  removed_at: Date | null;
}
const backups = (db: Db) =>
  db.query<Row>(
    `select id, file_id, location, state, removed_at from copies where target = 'backup' order by id`,
  );

/** No row lies: verified rows have their bytes, released rows recorded as removed have none. */
async function noLyingRow(db: Db): Promise<Row[]> {
  const rows = await backups(db);
  for (const r of rows) {
    if (r.state === 'verified')
      expect(existsSync(r.location), `verified ${r.file_id} has its bytes`).toBe(true);
    if (r.state === 'released' && r.removed_at)
      expect(existsSync(r.location), `released ${r.file_id} removed`).toBe(false);
  }
  return rows;
}

describe('backup retention under kill -9', () => {
  it('a worker killed mid-pass leaves no lying row; the next one finishes the pass', async () => {
    bed = await crashBed('sluice-retention-crash-');
    const b = bed;
    await mkdir(path.join(b.root, 'astral1'));
    await mkdir(path.join(b.root, 'lts'));
    await b.writeConfig(CONFIG);
    for (let i = 0; i < N; i++)
      await writeFile(
        path.join(b.root, 'astral1', `r${String(i).padStart(3, '0')}.raw`),
        Buffer.alloc(65_536, i),
      );
    const archivedAll = async () => {
      const [r] = await b.db.query<{ n: number }>(
        `select count(*)::int as n from archive_items where state = 'archived'`,
      );
      return r!.n === N;
    };
    const released = async () => (await backups(b.db)).filter((r) => r.state === 'released').length;

    const w = await b.startWorker();
    await waitFor(`${N} sets archived`, archivedAll, 300_000, 200);
    expect(await released()).toBe(0); // the schedule's first run is a day away
    await enqueueTask(b.db, Kind.archiveBackupRetention, 'test', {});
    await killWhen(w, 'some backups released', async () => (await released()) >= 5, 120_000, 5);
    const cut = await noLyingRow(b.db);
    const n = cut.filter((r) => r.state === 'released').length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(N); // killed mid-pass, not after it

    await withWorker(b, async () => {
      await enqueueTask(b.db, Kind.archiveBackupRetention, 'test', {});
      await waitFor(
        'every backup released and removed',
        async () => (await backups(b.db)).every((r) => r.state === 'released' && r.removed_at),
        120_000,
        200,
      );
    });
    const done = await noLyingRow(b.db);
    expect(done).toHaveLength(N); // one row per file: nothing released twice, nothing lost
  });

  it('a release cut short after its commit (bytes still there) is finished by the next pass', async () => {
    bed = await crashBed('sluice-retention-finish-');
    const b = bed;
    await mkdir(path.join(b.root, 'astral1'));
    await mkdir(path.join(b.root, 'lts'));
    await b.writeConfig(CONFIG);
    await writeFile(path.join(b.root, 'astral1', 'one.raw'), Buffer.alloc(10_000, 7));
    await withWorker(b, () =>
      waitFor(
        'one.raw backed up',
        async () => (await verifiedBackupsOf(b.db, ['one.raw'])).length === 1,
        120_000,
        200,
      ),
    );
    const [copy] = await verifiedBackupsOf(b.db, ['one.raw']);
    // what a kill between the commit and the removal leaves
    await b.db.tx((tx) => markCopyReleased(tx, copy!.id));
    expect(existsSync(copy!.location)).toBe(true);
    const { config } = await loadConfig({ cwd: b.root, env: 'local', environ: {} });
    expect(await finishReleases(b.db, config, silentLogger)).toBe(1);
    expect(existsSync(copy!.location)).toBe(false);
    const [row] = await backups(b.db);
    expect(row).toMatchObject({ state: 'released' });
    expect(row!.removed_at).not.toBeNull();
  });
});
