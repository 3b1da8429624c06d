/**
 * The backup target is the right disk (src/backup/target.ts). Found in acceptance: with the backup
 * share unmounted, Sluice recreated the folder on the root disk, "verified" copies there, doctor said
 * "writable", and the remover purged the instrument copies. Here the share is a real mount (a tmpfs,
 * bind-mounted at backup.path so that it can be unmounted and mounted again with its content; needs
 * root), and the other cases are a renamed folder and a marker of another instance.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initTarget, TARGET_MARKER } from '../src/backup/target.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { alertsSchema } from '../src/core/config/schema/alerts.ts';
import { silentLogger } from '../src/core/log.ts';
import { copiesOf } from '../src/files/repo.ts';
import { runAlerts } from '../src/ops/alerts/run.ts';
import { checkBackupPath } from '../src/ops/doctor.ts';
import { instrumentYaml } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const isRoot = process.getuid?.() === 0;
let p: Pipeline | undefined;
const mounts: string[] = [];
afterEach(async () => {
  await p?.stop();
  for (const m of mounts.splice(0).reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      // unmounted by the test already
    }
  }
  await p?.close();
  p = undefined;
});

const config =
  (extra = '') =>
  (root: string) =>
    `
data_dir: ${root}/data
cleanup: { allow_outside_production: true }
backup: { path: ${root}/backup, target_recheck_seconds: 0.5${extra} }
variables: { min_file_age_days: 0, cleanup_dry_run: true, min_free_space_gb: 1000000000 }
instruments:
${instrumentYaml(root, { stable: 0.3, cleanup: true })}
`;

const put = (pl: Pipeline, name: string) => writeFile(path.join(pl.root, 'astral1', name), `data of ${name}`);

/** Waits until `id`'s timeline says it is waiting for the backup target, and returns that text. */
async function waiting(pl: Pipeline, id: string): Promise<string> {
  return waitFor(`${id} waiting for the backup target`, async () =>
    (await pl.timeline(id)).find((l) => l.includes('waiting, not copied: backup target unavailable')),
  );
}

const problem = async (pl: Pipeline) =>
  (
    await pl.db.one<{ backup_target_problem: string | null }>(
      `select backup_target_problem from instruments where id = 'astral1'`,
    )
  ).backup_target_problem;

async function alertRules(pl: Pipeline): Promise<string[]> {
  const r = await runAlerts(
    pl.db,
    { ...pl.config, alerts: alertsSchema.parse({}) },
    pl.vars,
    silentLogger,
    new Date(),
    { notifiers: [] },
  );
  return r.evaluated.map((a) => a.rule);
}

describe('backup target', () => {
  it.skipIf(!isRoot && !process.env.CI)(
    'with the backup share unmounted nothing lands on the local disk and the remover deletes nothing; remounted, copies resume by themselves',
    async () => {
      p = await createPipeline(config());
      const store = path.join(p.root, 'share');
      const backup = path.join(p.root, 'backup');
      await mkdir(store);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', store]);
      mounts.push(store);
      const mountShare = () => {
        execFileSync('mount', ['--bind', store, backup]);
        mounts.push(backup);
      };
      mountShare();

      await put(p, 'r1.raw');
      await p.start();
      await p.waitStatus('r1.raw', 'done_not_processed');
      // the first copy marked the (empty, new) share as this instance's
      expect(JSON.parse(await readFile(path.join(store, TARGET_MARKER), 'utf8'))).toMatchObject({
        instance: 'sluice',
      });

      execFileSync('umount', [backup]);
      await put(p, 'r2.raw');
      await put(p, 'r3.raw');
      const why = await waiting(p, 'r2.raw');
      await waiting(p, 'r3.raw');
      expect(why).toMatch(/verified copies recorded there are missing: the backup share is not mounted/);
      // nothing on the local disk under the mount point, nothing recorded, the files keep waiting
      expect(await readdir(backup)).toEqual([]);
      for (const id of ['r2.raw', 'r3.raw']) {
        expect((await p.file(id))!.status).toBe('acquired');
        expect(await copiesOf(p.db, id)).toEqual([]);
      }
      await waitFor('the instrument shows why', async () => (await problem(p!)) !== null);
      expect(await problem(p)).toMatch(/backup share is not mounted/);
      // waiting does not use up attempts: the task is queued, not failed
      const task = await p.db.one<{ state: string; attempts: number }>(
        `select state, attempts from tasks where kind = 'backup.copy' and subject = 'r2.raw' order by id desc limit 1`,
      );
      expect(task.state).not.toBe('failed');
      expect(task.attempts).toBeLessThanOrEqual(1);

      // the remover deletes nothing, and does not call the good backup corrupt
      // (the scheduled passes only report: cleanup_dry_run; this one would delete)
      const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger, {
        force: true,
        dryRun: false,
      });
      expect(r.removed).toEqual([]);
      expect(r.reason).toMatch(/nothing deleted: backup target unavailable/);
      expect(existsSync(path.join(p.root, 'astral1', 'r1.raw'))).toBe(true);
      expect((await copiesOf(p.db, 'r1.raw')).map((c) => c.state)).toEqual(['verified']);

      // doctor fails the backup path check without writing its probe there; an alert fires
      const doc = await checkBackupPath(p.config, p.db);
      expect(doc).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^backup target unavailable: /),
      });
      expect(await readdir(backup)).toEqual([]);
      expect(await alertRules(p)).toContain('backup_target_unavailable');

      // mounted again: the waiting copies go on with no manual step
      mountShare();
      await p.waitStatus('r2.raw', 'done_not_processed');
      await p.waitStatus('r3.raw', 'done_not_processed');
      expect(existsSync(path.join(store, 'astral1'))).toBe(true);
      expect((await p.timeline('r2.raw')).join('\n')).toMatch(/backup target is usable again/);
      await waitFor('the instrument problem cleared', async () => (await problem(p!)) === null);
      expect(await alertRules(p)).not.toContain('backup_target_unavailable');
      expect((await checkBackupPath(p.config, p.db)).status).toBe('ok');
    },
  );

  it('a backup folder renamed away is not recreated, nor is an empty folder put in its place used', async () => {
    p = await createPipeline(config());
    const backup = path.join(p.root, 'backup');
    await put(p, 'a1.raw');
    await p.start();
    await p.waitStatus('a1.raw', 'done_not_processed');
    await rename(backup, `${backup}-away`);
    await put(p, 'a2.raw');
    expect(await waiting(p, 'a2.raw')).toMatch(/backup does not exist, and 1 of 1 checked verified copies/);
    expect(existsSync(backup)).toBe(false);
    await mkdir(backup); // someone recreates it, empty: still not the backup area
    const looks = async () =>
      Number(
        (
          await p!.db.one<{ w: string | null }>(
            `select payload->>'targetWaits' as w from tasks where kind = 'backup.copy' and subject = 'a2.raw' order by id desc limit 1`,
          )
        ).w ?? 0,
      );
    const before = await looks();
    await waitFor('two more looks at the target', async () => (await looks()) >= before + 2);
    expect(await readdir(backup)).toEqual([]);
    expect((await p.file('a2.raw'))!.status).toBe('acquired');
    await rmdir(backup);
    await rename(`${backup}-away`, backup);
    await p.waitStatus('a2.raw', 'done_not_processed');
  });

  it('a backup area whose marker names another instance is refused until it is marked deliberately', async () => {
    p = await createPipeline(config());
    const backup = path.join(p.root, 'backup');
    await writeFile(
      path.join(backup, TARGET_MARKER),
      JSON.stringify({ sluice_backup_target: 1, instance: 'other-lab' }),
    );
    await put(p, 'o1.raw');
    await p.start();
    expect(await waiting(p, 'o1.raw')).toMatch(
      /names the Sluice instance 'other-lab', not this one \('sluice'\)/,
    );
    expect(await readdir(backup)).toEqual([TARGET_MARKER]);
    expect((await checkBackupPath(p.config, p.db)).status).toBe('fail');
    await expect(initTarget(p.config)).rejects.toThrow(/names the instance 'other-lab'/);
    expect(await initTarget(p.config, { force: true })).toMatch(/wrote .* naming this instance/);
    await p.waitStatus('o1.raw', 'done_not_processed');
  });

  it.skipIf(!isRoot && !process.env.CI)(
    'backup.require_mount: copies wait until the backup path is a mount point',
    async () => {
      p = await createPipeline(config(', require_mount: true'));
      const backup = path.join(p.root, 'backup');
      await put(p, 'm1.raw');
      await p.start();
      expect(await waiting(p, 'm1.raw')).toMatch(/is not a mount point \(backup.require_mount is set\)/);
      expect(await readdir(backup)).toEqual([]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', backup]);
      mounts.push(backup);
      await p.waitStatus('m1.raw', 'done_not_processed');
      expect(await readdir(backup)).toContain(TARGET_MARKER);
    },
  );
});
