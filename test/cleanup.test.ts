/**
 * Freeing instrument disks: move-after-backup, and the remover that deletes an instrument copy only
 * after re-verifying it and the backup (real files, real PostgreSQL).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { moveHandler } from '../src/cleanup/move.ts';
import { DELETING_MARK, type Place, placeOf } from '../src/cleanup/place.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import type { Tx } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { enqueue } from '../src/engine/enqueue.ts';
import type { TaskContext, TaskRow } from '../src/engine/types.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { sluice } from './helpers/cli.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

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
${REMOVE_AT_ONCE}
instruments:
${instrumentYaml(root, { cleanup: true, extra: [`move_after_backup: ${opts.move ?? false}`] })}
`;

/** `config({})` plus a Bruker instrument `tims1` with cleanup. */
const withBruker = (root: string) => `${config({})(root)}  tims1:
    type: bruker
    watch: ${root}/tims1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.5 }
    cleanup: { enabled: true }
`;

/**
 * Leave `id` as a remover killed at one of its steps would: `marked` (recorded `removing`, nothing
 * moved), `moved` (in its hidden folder, not yet verified) or `deleting` (verified, the mark written).
 */
async function cutShort(pl: Pipeline, id: string, step: 'marked' | 'moved' | 'deleting'): Promise<Place> {
  const f = (await pl.file(id))!;
  const place = placeOf(f, path.dirname(f.current_path!));
  await pl.db.exec(`update files set instrument_copy = 'removing', current_path = $2 where id = $1`, [
    id,
    place.quarantined,
  ]);
  if (step === 'marked') return place;
  await mkdir(place.dir);
  await rename(place.original, place.quarantined);
  if (step === 'deleting') await writeFile(path.join(place.dir, DELETING_MARK), `${id}\n`);
  return place;
}

/** The id of the newest record of `name` other than the plain one (a collision record). */
async function waitForRecord(pl: Pipeline, name: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const row = await pl.db.maybeOne<{ id: string }>(
      `select id from files where name = $1 and id <> $1 order by created_at desc limit 1`,
      [name],
    );
    if (row) return row.id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new record of ${name}`);
}

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
    const f = await waitFor('the move recorded', async () => {
      const r = (await p!.file('m.raw'))!;
      return r.instrument_copy === 'moved' ? r : undefined;
    });
    expect(f).toMatchObject({ instrument_copy: 'moved', current_path: moved });
    expect(existsSync(path.join(p.root, 'astral1', 'm.raw'))).toBe(false);
    expect((await p.timeline('m.raw')).join('\n')).toMatch(/instrument copy moved to/);
    // later scans do not rediscover it inside Backup/
    expect((await p.db.query(`select id from files`)).length).toBe(1);
  });

  it('a move to Backup/ cut short keeps its own suffix and never takes an entry of another record', async () => {
    p = await createPipeline(config({}));
    const dir = path.join(p.root, 'astral1');
    await backedUp(p, ['m.raw']);
    // m.raw's first record was moved to Backup/m.raw earlier
    await mkdir(path.join(dir, 'Backup'));
    await rename(path.join(dir, 'm.raw'), path.join(dir, 'Backup', 'm.raw'));
    await p.db.exec(`update files set instrument_copy = 'moved', current_path = $1 where id = 'm.raw'`, [
      path.join(dir, 'Backup', 'm.raw'),
    ]);
    // a new acquisition under the same name: its own (collision) record, backed up
    await writeFile(path.join(dir, 'm.raw'), 'second acquisition, other content');
    await p.start();
    const b = await waitForRecord(p, 'm.raw');
    await p.waitStatus(b, 'done_not_processed');
    await p.stop();

    // the move of b: its first attempt is killed after the rename, before it completes. The handler
    // runs with a stand-in for the engine's context (a kill at exactly that point cannot be timed
    // with the real worker); `remember` writes the payload as the engine's does (engine.test.ts).
    const taskId = await enqueue(p.db, { kind: 'cleanup.move', subject: b, pool: 'cleanup' });
    const handler = moveHandler({ config: p.config });
    const attempt = async (killed: boolean) => {
      const task = await p!.db.one<TaskRow>('select * from tasks where id = $1', [taskId]);
      const ctx = {
        task,
        db: p!.db,
        log: silentLogger,
        signal: new AbortController().signal,
        complete: async (fn?: (tx: Tx) => Promise<void>) => {
          if (killed) throw new Error('killed (simulated)');
          await p!.db.tx(async (tx) => fn?.(tx));
        },
        again: async () => {},
        remember: async (patch: Record<string, unknown>) => {
          await p!.db.exec('update tasks set payload = payload || $2::jsonb where id = $1', [
            taskId,
            JSON.stringify(patch),
          ]);
        },
      } as unknown as TaskContext;
      await handler.run(ctx);
    };
    await expect(attempt(true)).rejects.toThrow(/killed/);
    await attempt(false);
    expect(await p.file(b)).toMatchObject({
      instrument_copy: 'moved',
      current_path: path.join(dir, 'Backup', 'm.raw.2'),
    });
    expect(await readFile(path.join(dir, 'Backup', 'm.raw.2'), 'utf8')).toBe(
      'second acquisition, other content',
    );
    expect(await p.file('m.raw')).toMatchObject({ current_path: path.join(dir, 'Backup', 'm.raw') });
    expect(await readFile(path.join(dir, 'Backup', 'm.raw'), 'utf8')).toBe('content of m.raw');
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
    const { retryFile } = await import('../src/pipeline/actions.ts');
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
    // a repaired backup does not run the finished processing again
    expect((await p.timeline('c.raw')).join('\n')).toMatch(
      /backed_up→done_not_processed: the backup is whole again; processing had finished before and is not run again/,
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

  it('finishes a removal that was cut short; scans leave the remnant alone meanwhile', async () => {
    p = await createPipeline(withBruker);
    const parts = ['analysis.tdf_bin', 'analysis.tdf', 'a.bin', 'b.bin', 'c.bin', 'd.bin'];
    for (const run of ['run1.d', 'run2.d']) {
      await mkdir(path.join(p.root, 'tims1', run), { recursive: true });
      for (const f of parts) await writeFile(path.join(p.root, 'tims1', run, f), `${run}/${f}`);
    }
    await p.start();
    for (const run of ['run1.d', 'run2.d']) await p.waitStatus(run, 'done_not_processed');
    await p.stop();
    // the remover had moved both into their hidden folders, verified them, begun deleting (the mark)
    // and deleted half of each folder when it was killed
    for (const run of ['run1.d', 'run2.d']) {
      const place = await cutShort(p, run, 'deleting');
      for (const f of parts.slice(0, 3)) await rm(path.join(place.quarantined, f));
    }
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
    expect(await readdir(path.join(p.root, 'tims1'))).toEqual([
      expect.stringMatching(/^\.sluice-removing-/), // run2.d's, below
    ]);
    expect(await p.file('run1.d')).toMatchObject({ instrument_copy: 'purged', current_path: null });
    expect((await p.timeline('run1.d')).join('\n')).toMatch(
      /finished removing the instrument copy .* cut short earlier/,
    );
    expect(existsSync(backupLocation(p.config, (await p.file('run1.d'))!))).toBe(true);

    // a backup that no longer verifies stops it: what is left stays, and the timeline says so
    expect(r.refused.map((x) => x.id)).toEqual(['run2.d']);
    const run2 = placeOf((await p.file('run2.d'))!, path.join(p.root, 'tims1'));
    expect((await readdir(run2.quarantined)).sort()).toEqual(parts.slice(3).sort());
    expect(await p.file('run2.d')).toMatchObject({
      instrument_copy: 'removing',
      current_path: run2.quarantined,
    });
    expect((await p.timeline('run2.d')).join('\n')).toMatch(
      /cut short, and the backup .* no longer verifies: .*What is left of the instrument copy is kept in \S+\.sluice-removing-/,
    );
    // and a retry would back up the incomplete remnant as if it were the whole acquisition: refused
    const { retryFile } = await import('../src/pipeline/actions.ts');
    await expect(retryFile(p.db, p.config, 'run2.d', 'test')).rejects.toThrow(
      /the removal of its instrument copy had begun: what is left at \S+ is incomplete/,
    );
  });

  it('never deletes new data written under the name of a removal that was cut short', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['x.raw', 'y.raw', 'z.raw']);
    const dir = path.join(p.root, 'astral1');
    // x.raw: killed after its deletion (before it was recorded); y.raw: killed after it was marked
    // `removing`, before it was moved; z.raw: killed while both copies were being verified
    await cutShort(p, 'x.raw', 'deleting');
    await rm(placeOf((await p.file('x.raw'))!, dir).quarantined);
    await cutShort(p, 'y.raw', 'marked');
    await cutShort(p, 'z.raw', 'moved');
    // the instrument writes new acquisitions under two of those names
    for (const n of ['x.raw', 'y.raw']) await writeFile(path.join(dir, n), `NEW acquisition ${n}`);

    // scans leave the names alone while the removals are unfinished
    await p.start();
    await new Promise((r) => setTimeout(r, 1500));
    await p.stop();
    expect((await p.db.query(`select id from files`)).length).toBe(3);

    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed.sort()).toEqual(['x.raw', 'z.raw']);
    expect(await p.file('x.raw')).toMatchObject({ instrument_copy: 'purged' });
    expect(await p.file('z.raw')).toMatchObject({ instrument_copy: 'purged' });
    expect((await p.timeline('z.raw')).join('\n')).toMatch(/finished removing .* cut short earlier/);
    // y.raw's name holds other data now: refused by size, without being moved, and back to `present`
    expect(r.refused.map((x) => x.id)).toEqual(['y.raw']);
    expect(await p.file('y.raw')).toMatchObject({
      instrument_copy: 'present',
      current_path: path.join(dir, 'y.raw'),
    });
    expect((await p.timeline('y.raw')).join('\n')).toMatch(/not removed: the instrument copy differs/);
    for (const n of ['x.raw', 'y.raw'])
      expect(await readFile(path.join(dir, n), 'utf8')).toBe(`NEW acquisition ${n}`);
    expect((await readdir(dir)).sort()).toEqual(['x.raw', 'y.raw']); // no hidden folder left

    // and the scan records the new data and backs it up
    await p.start();
    for (const n of ['x.raw', 'y.raw']) {
      const id = await waitForRecord(p, n);
      const f = await p.waitStatus(id, 'done_not_processed');
      expect(await readFile(backupLocation(p.config, f), 'utf8')).toBe(`NEW acquisition ${n}`);
    }
  });

  it('deletes exactly what it verified: data written into a folder by name meanwhile stays', async () => {
    p = await createPipeline(withBruker);
    const run = path.join(p.root, 'tims1', 'run.d');
    await mkdir(run, { recursive: true });
    await writeFile(path.join(run, 'analysis.tdf_bin'), Buffer.alloc(96 * 1024 ** 2, 7));
    await writeFile(path.join(run, 'analysis.tdf'), 'meta');
    await p.start();
    await p.waitStatus('run.d', 'done_not_processed', 60_000);
    await p.stop();
    const place = placeOf((await p.file('run.d'))!, path.join(p.root, 'tims1'));
    // Software that writes results into the folder by its name, as soon as the remover took it away
    // for verification: it finds no folder there, makes a new one, and writes.
    let late = false;
    const timer = setInterval(() => {
      if (late || !existsSync(place.quarantined)) return; // moved away: the name is free
      late = true;
      mkdirSync(run);
      writeFileSync(path.join(run, 'late-result.csv'), 'written while the remover verified');
    }, 1);
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'tims1', silentLogger);
    clearInterval(timer);
    expect(late).toBe(true);
    expect(r.removed).toEqual(['run.d']);
    expect(await readdir(run)).toEqual(['late-result.csv']);
    expect(existsSync(place.dir)).toBe(false);
  });

  it('records a deletion the file system refuses on the file, and goes on with the others', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['r1.raw', 'r2.raw']);
    const r1 = path.join(p.root, 'astral1', 'r1.raw');
    // the oldest: the first candidate
    await p.db.exec(`update files set mtime = mtime - interval '1 minute' where id = 'r1.raw'`);
    // immutable: rename and unlink fail with EPERM, as on a share the remover may not change
    execFileSync('chattr', ['+i', r1]);
    try {
      const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
      expect(r.removed).toEqual(['r2.raw']);
      expect(r.refused.map((x) => x.id)).toEqual(['r1.raw']);
      expect(await p.file('r1.raw')).toMatchObject({ instrument_copy: 'present', current_path: r1 });
      expect((await p.timeline('r1.raw')).join('\n')).toMatch(
        /not removed from the instrument: EPERM.* — the remover needs write access to the instrument folder/,
      );
      expect(await readdir(path.join(p.root, 'astral1'))).toEqual(['r1.raw']);
    } finally {
      execFileSync('chattr', ['-i', r1]);
    }
    const again = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(again.removed).toEqual(['r1.raw']);
  });

  it('keeps a copy that fails verification in its hidden folder when new data took its name', async () => {
    p = await createPipeline(config({}));
    await backedUp(p, ['w.raw']);
    const dir = path.join(p.root, 'astral1');
    const place = await cutShort(p, 'w.raw', 'moved');
    await writeFile(path.join(dir, 'w.raw'), 'NEW acquisition w.raw');
    const dest = backupLocation(p.config, (await p.file('w.raw'))!);
    await chmod(dest, 0o644);
    await writeFile(dest, 'content of w.rax'); // and the backup has gone bad

    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.refused.map((x) => x.id)).toEqual(['w.raw']);
    expect(await readFile(place.quarantined, 'utf8')).toBe('content of w.raw');
    expect(await readFile(path.join(dir, 'w.raw'), 'utf8')).toBe('NEW acquisition w.raw');
    expect(await p.file('w.raw')).toMatchObject({
      instrument_copy: 'present',
      current_path: place.quarantined,
    });
    expect((await p.timeline('w.raw')).join('\n')).toMatch(
      /kept in \S+\.sluice-removing-\w+: \S+w\.raw now holds other data/,
    );
    // the retry the timeline suggests backs up the kept copy, from where it is
    const { retryFile } = await import('../src/pipeline/actions.ts');
    expect(await retryFile(p.db, p.config, 'w.raw', 'test')).toBe('acquired');
    await p.start();
    await p.waitStatus('w.raw', 'done_not_processed');
    expect(await readFile(dest, 'utf8')).toBe('content of w.raw');
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
    // (the records and copies in the message, should k1 ever be missing again: it was once, when the
    // pipeline's own first remover pass ran late and deleted k1 first; see test/helpers/pipeline.ts)
    const why = async () =>
      JSON.stringify(
        await p!.db.query(
          `select f.id, f.status, f.instrument_copy, f.current_path, f.mtime, now() as now, f.manifest is not null as has_manifest,
             (select json_agg(json_build_object('state', c.state, 'target', c.target)) from copies c where c.file_id = f.id) as copies
           from files f order by f.id`,
        ),
      );
    expect(r.stdout, await why()).toMatch(
      /astral1: [\d.]+ GB free, min_free_space_gb 1000000000\nWOULD REMOVE\nFILE +SIZE/,
    );
    expect(r.stdout).toMatch(/\nk1\.raw +17 B +\d{4}-\d\d-\d\d \S+ +backup verified +\S+astral1\/k1\.raw\n/);
    expect(r.stdout).toMatch(/REFUSED: .*\n.*\nk2\.raw +backup \w+ +\S+k2\.raw: sha256 differs/);
    expect(r.stdout).toMatch(/tims1: not checked: cleanup is not enabled for tims1/);
    expect(r.stderr).toMatch(
      /astral1: verifying [12]\/2 k1\.raw \(17 B\) on the instrument and in the backup/,
    );
    for (const n of ['k1.raw', 'k2.raw']) expect(existsSync(path.join(p.root, 'astral1', n))).toBe(true);
    expect((await p.file('k1.raw'))!.instrument_copy).toBe('present');
    expect((await p.timeline('k2.raw')).join('\n')).toMatch(/no longer matches the hashes recorded/);
    // and the file list shows it
    const listed = await sluice(['files', 'list'], { env });
    expect(listed.stdout).toMatch(/BACKUP +INSTRUMENT_COPY/);
    expect(listed.stdout).toMatch(/\nk2\.raw .* corrupt +present /);
    expect(listed.stdout).toMatch(/\nk1\.raw .* verified +present /);

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
    // a name every object inherits is no instrument either (it reached the remover, which threw)
    const inherited = await sluice(['cleanup', 'check', '-i', 'constructor'], { env });
    expect(inherited.code).toBe(2);
    expect(inherited.stderr).toContain("no instrument 'constructor' in the config");
  });
});
