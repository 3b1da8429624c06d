/**
 * Freeing instrument disks: move-after-backup, and the remover that deletes an instrument copy only
 * after re-verifying it and the backup (real files, real PostgreSQL).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupLocation } from '../src/backup/backup-task.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { sluice } from './helpers/cli.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const config = (opts: { move?: boolean; allow?: boolean }) => (root: string) =>
  `
data_dir: ${root}/data
backup: { path: ${root}/backup }
cleanup: { allow_outside_production: ${opts.allow ?? true} }
variables: { min_file_age_days: 0, cleanup_dry_run: false, min_free_space_gb: 1000000000 }
instruments:
  astral1:
    type: thermo
    watch: ${root}/astral1
    scan_interval_seconds: 0.2
    move_after_backup: ${opts.move ?? false}
    acquisition: { stable_window_seconds: 0.5 }
    cleanup: { enabled: true }
`;

async function backedUp(pl: Pipeline, names: string[]) {
  for (const n of names) await writeFile(path.join(pl.root, 'astral1', n), `content of ${n}`);
  await pl.start();
  for (const n of names) await pl.waitStatus(n, 'done_not_processed');
  await pl.stop();
}

describe('cleanup', () => {
  it('moves the instrument copy into Backup/ after a verified backup', async () => {
    p = await createPipeline(config({ move: true }));
    await writeFile(path.join(p.root, 'astral1', 'm.raw'), 'data');
    await p.start();
    await p.waitStatus('m.raw', 'done_not_processed');
    const moved = path.join(p.root, 'astral1', 'Backup', 'm.raw');
    for (let i = 0; i < 100 && !existsSync(moved); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    const f = (await p.file('m.raw'))!;
    expect(f).toMatchObject({ instrument_copy: 'moved', current_path: moved });
    expect(existsSync(path.join(p.root, 'astral1', 'm.raw'))).toBe(false);
    expect((await p.timeline('m.raw')).join('\n')).toMatch(/instrument copy moved to/);
    // later scans do not rediscover it inside Backup/
    expect((await p.db.query(`select id from files`)).length).toBe(1);
  });

  it('removes the oldest verified instrument copies when space is low, re-verifying both copies first', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['r1.raw', 'r2.raw']);
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.enabled).toBe(true);
    expect(r.removed.sort()).toEqual(['r1.raw', 'r2.raw']);
    expect(existsSync(path.join(p.root, 'astral1', 'r1.raw'))).toBe(false);
    const f = (await p.file('r1.raw'))!;
    expect(f.instrument_copy).toBe('purged');
    expect(existsSync(backupLocation(p.config, f))).toBe(true);
    expect((await p.timeline('r1.raw')).join('\n')).toMatch(
      /removed from the instrument .* after re-verifying it and the backup/,
    );
  });

  it('refuses to delete when the backup was corrupted after it was verified, and raises it', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['c.raw']);
    const f = (await p.file('c.raw'))!;
    const dest = backupLocation(p.config, f);
    await chmod(dest, 0o644);
    await writeFile(dest, 'content of c.rax'); // same size, one byte flipped
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(r.refused.map((x) => x.id)).toEqual(['c.raw']);
    expect(existsSync(path.join(p.root, 'astral1', 'c.raw'))).toBe(true);
    const copy = await p.db.one<{ state: string }>(`select state from copies where file_id = 'c.raw'`);
    expect(copy.state).toBe('corrupt');
    expect((await p.timeline('c.raw')).join('\n')).toMatch(
      /no longer matches the hashes recorded .* instrument copy is kept; back it up again with `sluice files retry c\.raw`/,
    );
    // What the note says to do works in one step: the damaged copy is kept renamed, a good one made.
    const { retryFile } = await import('../src/files/actions.ts');
    expect(await retryFile(p.db, p.config, 'c.raw', 'test')).toBe('acquired');
    await p.start();
    await p.waitStatus('c.raw', 'done_not_processed');
    expect(await readFile(dest, 'utf8')).toBe('content of c.raw');
    const kept = (await readdir(path.dirname(dest))).filter((n) => n.startsWith('c.raw.replaced-'));
    expect(kept).toHaveLength(1);
    expect(await readFile(path.join(path.dirname(dest), kept[0]!), 'utf8')).toBe('content of c.rax');
    expect((await p.timeline('c.raw')).join('\n')).toMatch(
      /the damaged backup was moved aside to .*c\.raw\.replaced-.* \(retried after the remover found it corrupt\)/,
    );
    const states = await p.db.query<{ state: string }>(
      `select state from copies where file_id = 'c.raw' order by id`,
    );
    expect(states.map((c) => c.state)).toEqual(['corrupt', 'verified']);
  });

  it('does not delete an instrument copy that changed since its backup', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['x.raw']);
    await writeFile(path.join(p.root, 'astral1', 'x.raw'), 'content of x.raw plus more');
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(existsSync(path.join(p.root, 'astral1', 'x.raw'))).toBe(true);
  });

  it('only reports in dry-run mode, and leaves everything when free space is sufficient', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['d.raw']);
    await p.vars.set('cleanup_dry_run', true, 'test');
    const dry = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(dry.wouldRemove).toEqual(['d.raw']);
    expect(existsSync(path.join(p.root, 'astral1', 'd.raw'))).toBe(true);
    await p.vars.set('cleanup_dry_run', false, 'test');
    await p.vars.set('min_free_space_gb', 0, 'test');
    const enough = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(enough.removed).toEqual([]);
  });

  it('finishes a removal that was cut short; scans leave the remnant alone meanwhile', async () => {
    p = await createPipeline(
      (root) => `${config({})(root)}  tims1:
    type: bruker
    watch: ${root}/tims1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.5 }
    cleanup: { enabled: true }
`,
    );
    const parts = ['analysis.tdf_bin', 'analysis.tdf', 'a.bin', 'b.bin', 'c.bin', 'd.bin'];
    for (const run of ['run1.d', 'run2.d']) {
      await mkdir(path.join(p.root, 'tims1', run), { recursive: true });
      for (const f of parts) await writeFile(path.join(p.root, 'tims1', run, f), `${run}/${f}`);
    }
    await p.start();
    for (const run of ['run1.d', 'run2.d']) await p.waitStatus(run, 'done_not_processed');
    await p.stop();
    // the remover had verified both copies, marked them and deleted half of each folder when it was killed
    await p.db.exec(`update files set instrument_copy = 'removing' where id in ('run1.d', 'run2.d')`);
    for (const run of ['run1.d', 'run2.d'])
      for (const f of parts.slice(0, 3)) await rm(path.join(p.root, 'tims1', run, f));
    // and run2.d's backup has gone bad since
    const bad = path.join(backupLocation(p.config, (await p.file('run2.d'))!), 'd.bin');
    await chmod(bad, 0o644);
    await writeFile(bad, 'run2.d/d.bix');

    // scans meanwhile: a half-deleted folder is not a new acquisition
    await p.start();
    await new Promise((r) => setTimeout(r, 1500));
    await p.stop();
    expect((await p.db.query(`select id from files order by id`)).map((r) => r.id)).toEqual([
      'run1.d',
      'run2.d',
    ]);

    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'tims1', silentLogger);
    expect(r.removed).toEqual(['run1.d']);
    expect(existsSync(path.join(p.root, 'tims1', 'run1.d'))).toBe(false);
    expect(await p.file('run1.d')).toMatchObject({ instrument_copy: 'purged', current_path: null });
    expect((await p.timeline('run1.d')).join('\n')).toMatch(
      /finished removing the instrument copy .* cut short earlier/,
    );
    expect(existsSync(backupLocation(p.config, (await p.file('run1.d'))!))).toBe(true);

    // a backup that no longer verifies stops it: what is left stays, and the timeline says so
    expect(r.refused.map((x) => x.id)).toEqual(['run2.d']);
    expect((await readdir(path.join(p.root, 'tims1', 'run2.d'))).sort()).toEqual(parts.slice(3).sort());
    expect(await p.file('run2.d')).toMatchObject({ instrument_copy: 'removing' });
    expect((await p.timeline('run2.d')).join('\n')).toMatch(
      /cut short, and the backup .* no longer verifies/,
    );
  });

  it('is disabled outside production unless allowed', async () => {
    p = await createPipeline(config({ allow: false }));
    await backedUp(p, ['e.raw']);
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.enabled).toBe(false);
    expect(r.reason).toMatch(/environment is 'local'/);
    expect(existsSync(path.join(p.root, 'astral1', 'e.raw'))).toBe(true);
  });
  it('`sluice cleanup check` lists what the remover would delete and what it refuses, deleting nothing', async () => {
    const yaml = (root: string) =>
      `${config({})(root)}  tims1:\n    type: bruker\n    watch: ${root}/tims1\n`;
    p = await createPipeline(yaml);
    await backedUp(p, ['k1.raw', 'k2.raw']);
    await writeFile(path.join(p.root, 'sluice.yaml'), yaml(p.root));
    const env = { DATABASE_URL: p.url, SLUICE_CONFIG: path.join(p.root, 'sluice.yaml') };
    const dest = backupLocation(p.config, (await p.file('k2.raw'))!);
    await chmod(dest, 0o644);
    await writeFile(dest, 'content of k2.rax'); // the backup of k2 is damaged

    // the config says cleanup_dry_run: false, and still nothing is deleted
    const r = await sluice(['cleanup', 'check'], { env });
    expect(r.code).toBe(1); // a refused file
    expect(r.stdout).toMatch(
      /astral1: [\d.]+ GB free, min_free_space_gb 1000000000\nWOULD REMOVE\nFILE +SIZE/,
    );
    expect(r.stdout).toMatch(/\nk1\.raw +17 B +\d{4}-\d\d-\d\d \S+ +\S+astral1\/k1\.raw\n/);
    expect(r.stdout).toMatch(/REFUSED: .*\n.*\nk2\.raw +\S+k2\.raw: sha256 differs/);
    expect(r.stdout).toMatch(/tims1: not checked: cleanup is not enabled for tims1/);
    expect(r.stderr).toMatch(
      /astral1: verifying [12]\/2 k1\.raw \(17 B\) on the instrument and in the backup/,
    );
    for (const n of ['k1.raw', 'k2.raw']) expect(existsSync(path.join(p.root, 'astral1', n))).toBe(true);
    expect((await p.file('k1.raw'))!.instrument_copy).toBe('present');
    expect((await p.timeline('k2.raw')).join('\n')).toMatch(/no longer matches the hashes recorded/);

    // enough free space: nothing would go, unless --all asks for every file old enough
    await p.vars.set('min_free_space_gb', 0, 'test');
    const enough = await sluice(['cleanup', 'check', '-i', 'astral1'], { env });
    expect(enough.code).toBe(0);
    expect(enough.stdout).toMatch(/nothing would be removed now: the free space is enough/);
    const all = await sluice(['cleanup', 'check', '-i', 'astral1', '--all', '--json'], { env });
    expect(all.code).toBe(0); // k2's backup is marked corrupt now: no longer a candidate
    const [report] = JSON.parse(all.stdout);
    expect(report).toMatchObject({
      instrument: 'astral1',
      dryRun: true,
      wouldRemove: ['k1.raw'],
      removed: [],
    });
    expect(report.files[0]).toMatchObject({ id: 'k1.raw', bytes: 17 });
    expect(existsSync(path.join(p.root, 'astral1', 'k1.raw'))).toBe(true);

    // an instrument folder this machine cannot read: said so, and the check fails
    await rename(path.join(p.root, 'astral1'), path.join(p.root, 'astral1.away'));
    const unmounted = await sluice(['cleanup', 'check', '-i', 'astral1'], { env });
    expect(unmounted.code).toBe(1);
    expect(unmounted.stdout).toMatch(
      /astral1: not checked: watch folder \S+astral1 does not exist \(is the share mounted\?\): run this on a machine that mounts the instrument folder/,
    );
    await rename(path.join(p.root, 'astral1.away'), path.join(p.root, 'astral1'));

    const bad = await sluice(['cleanup', 'check', '-i', 'nope'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no instrument 'nope' in the config/);
  });
});
