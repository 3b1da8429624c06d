/**
 * The backup survives crashes and full disks: a `sluice start` worker killed with SIGKILL in the
 * middle of a copy, and a backup target that runs out of space (a real 4 MiB tmpfs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getFile } from '../src/files/repo.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { instrumentYaml, KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { bigFile, type CrashBed, crashBed, killWhen, withWorker } from './helpers/kill.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

async function partials(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true }))
    if (String(e).includes('sluice-partial')) out.push(String(e));
  return out;
}

describe('backup under crashes', () => {
  let bed: CrashBed | undefined;
  afterAll(async () => {
    await bed?.close();
  });

  it('completes a copy by itself after the worker is killed with SIGKILL mid-copy; no partial file is ever counted', async () => {
    bed = await crashBed('sluice-crash-');
    const { root, db } = bed;
    const watch = path.join(root, 'astral1');
    const backup = path.join(root, 'backup');
    await mkdir(watch, { recursive: true });
    await bed.writeConfig(KILLED_WORKER_CONFIG);
    const digest = await bigFile(path.join(watch, 'big.raw'), 600);
    // killed once the copy is under way: a partial temp exists and has data in it
    await killWhen(
      await bed.startWorker(),
      'a partial copy on disk',
      async () => (await partials(backup)).length > 0,
      120_000,
    );
    const f1 = await getFile(db, 'big.raw');
    expect(f1!.status).toBe('backing_up'); // not backed_up: the partial counts for nothing
    expect(await db.query(`select 1 from copies where file_id = 'big.raw'`)).toEqual([]);
    const f = await withWorker(bed, () =>
      waitFor(
        'big.raw done',
        async () => {
          const r = await getFile(db, 'big.raw');
          return r?.status === 'done_not_processed' ? r : undefined;
        },
        180_000,
        200,
      ),
    );
    const dest = backupLocation(
      { backup: { path: backup, layout: '{instrument}/{yyyy}_{mm}/{file_id}' } } as never,
      f,
    );
    expect(
      createHash('sha256')
        .update(await readFile(dest))
        .digest('hex'),
    ).toBe(digest);
    expect(f.manifest!.entries[0]!.hash).toBe(digest);
    expect(await partials(backup)).toEqual([]); // the leftovers of the killed copy are gone
  });
});

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const d = path.join(os.tmpdir(), `sluice-mnt-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', d]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d], { stdio: 'ignore' });
    execFileSync('umount', [d]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', d]);
  }
}

const tmpfs = canMountTmpfs();
if (!tmpfs) console.warn('skipping the full-disk test: cannot mount a tmpfs here (needs root)');

describe.skipIf(!tmpfs)('backup target full', () => {
  let p: Pipeline | undefined;
  let mnt: string;
  afterAll(async () => {
    await p?.stop();
    try {
      execFileSync('umount', [mnt]);
    } catch {}
    await p?.close();
  });

  it('fails with a clear error, retries, leaves nothing half-written, and finishes once there is space', async () => {
    p = await createPipeline(
      (root) => `
data_dir: ${root}/data
backup: { path: ${root}/small-disk }
instruments:
${instrumentYaml(root)}
`,
    );
    mnt = path.join(p.root, 'small-disk');
    await mkdir(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    const digest = await bigFile(path.join(p.root, 'astral1', 'large.raw'), 6);
    await p.start();
    await waitFor(
      'a failed attempt noted',
      async () => (await p!.timeline('large.raw')).some((l) => /attempt \d+ failed/.test(l)),
      60_000,
    );
    const lines = (await p.timeline('large.raw')).join('\n');
    expect(lines).toMatch(/is full|not enough (free )?space|ENOSPC/i);
    expect(lines).toContain(mnt);
    const f = (await p.file('large.raw'))!;
    expect(['backing_up', 'acquired']).toContain(f.status);
    expect(await partials(mnt)).toEqual([]);
    expect(await p.db.query(`select 1 from copies where file_id = 'large.raw'`)).toEqual([]);
    execFileSync('mount', ['-o', 'remount,size=16m', mnt]);
    await p.db.exec(`update tasks set run_after = now() where subject = 'large.raw' and state = 'queued'`);
    const done = await p.waitStatus('large.raw', 'done_not_processed', 60_000);
    expect(
      createHash('sha256')
        .update(await readFile(backupLocation(p.config, done)))
        .digest('hex'),
    ).toBe(digest);
  });
});
