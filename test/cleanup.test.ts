/**
 * Freeing instrument disks: move-after-backup, and the remover that deletes an instrument copy only
 * after re-verifying it and the backup (real files, real PostgreSQL).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupLocation } from '../src/backup/backup-task.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
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
    const { chmod } = await import('node:fs/promises');
    await chmod(dest, 0o644);
    await writeFile(dest, 'content of c.rax'); // same size, one byte flipped
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(r.refused.map((x) => x.id)).toEqual(['c.raw']);
    expect(existsSync(path.join(p.root, 'astral1', 'c.raw'))).toBe(true);
    const copy = await p.db.one<{ state: string }>(`select state from copies where file_id = 'c.raw'`);
    expect(copy.state).toBe('corrupt');
    expect((await p.timeline('c.raw')).join('\n')).toMatch(
      /no longer matches the hashes recorded .* instrument copy is kept/,
    );
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

  it('is disabled outside production unless allowed', async () => {
    p = await createPipeline(config({ allow: false }));
    await backedUp(p, ['e.raw']);
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.enabled).toBe(false);
    expect(r.reason).toMatch(/environment is 'local'/);
    expect(existsSync(path.join(p.root, 'astral1', 'e.raw'))).toBe(true);
  });
});
