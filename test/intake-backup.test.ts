/**
 * Intake and verified backup end to end, on the real filesystem and real PostgreSQL: each instrument
 * type, the acquisition rules, collisions, vanished sources, differing targets, offline folders.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  appendFile,
  chmod,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copiesOf } from '../src/files/repo.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('intake and backup', () => {
  it('backs up a finished Thermo file with read-back verification and records its timeline', async () => {
    p = await createPipeline(standardConfig());
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const src = path.join(p.root, 'astral1', '20261122_PRJ1_sample01.raw');
    await writeFile(src, data);
    await p.start();
    const f = await p.waitStatus('20261122_PRJ1_sample01.raw', 'done_not_processed');
    expect(f.project_id).toBe('PRJ1');
    const dest = backupLocation(p.config, f);
    expect(dest).toMatch(/backup\/astral1\/\d{4}_\d{2}\/20261122_PRJ1_sample01\.raw$/);
    expect(sha(await readFile(dest))).toBe(sha(data));
    expect(f.manifest!.entries[0]!.hash).toBe(sha(data));
    const [copy] = await copiesOf(p.db, f.id);
    expect(copy).toMatchObject({ state: 'verified', location: dest, associated: false });
    const states = (await p.timeline(f.id)).map((l) => l.split(':')[0]);
    // a small copy is announced as backing_up only when it takes over a second (backup-task.ts
    // beginBackup); on a busy machine it may
    const backup = states.includes('acquired→backing_up')
      ? ['acquired→backing_up', 'backing_up→backed_up']
      : ['acquired→backed_up'];
    expect(states).toEqual([
      '→discovered',
      'discovered→acquiring',
      'acquiring→acquired',
      ...backup,
      'backed_up→done_not_processed',
    ]);
    expect(existsSync(src)).toBe(true); // never touched without move_after_backup
  });

  it('backs up raw data whose names have spaces, accents and symbols, inside a folder too', async () => {
    p = await createPipeline(standardConfig());
    const name = "20261122 PRJ1 Müller's #1 (rep 2) 50%.raw";
    await writeFile(path.join(p.root, 'astral1', name), 'ä data');
    const run = path.join(p.root, 'tims1', 'Probe µ-1 & co.d');
    await mkdir(path.join(run, 'Sub Ordner é'), { recursive: true });
    await writeFile(path.join(run, 'analysis.tdf_bin'), 'bin');
    await writeFile(path.join(run, 'Sub Ordner é', 'naïve file?.txt'), 'inner');
    await p.start();
    const f = await p.waitStatus(name, 'done_not_processed');
    expect(f.project_id).toBe('PRJ1');
    expect(await readFile(backupLocation(p.config, f), 'utf8')).toBe('ä data');
    const d = await p.waitStatus('Probe µ-1 & co.d', 'done_not_processed');
    const inner = path.join(backupLocation(p.config, d), 'Sub Ordner é', 'naïve file?.txt');
    expect(await readFile(inner, 'utf8')).toBe('inner');
    expect(d.manifest!.entries.map((e) => e.rel).sort()).toEqual([
      'Sub Ordner é/naïve file?.txt',
      'analysis.tdf_bin',
    ]);
  });

  it('waits while a file grows and counts it acquired only once size and mtime are stable', async () => {
    // a stable window far longer than the writer's pauses (300 ms, several times that on a busy machine)
    p = await createPipeline((root) =>
      standardConfig()(root).replace('stable_window_seconds: 1 }', 'stable_window_seconds: 5 }'),
    );
    const src = path.join(p.root, 'astral1', 'growing.raw');
    await writeFile(src, 'a');
    await p.start();
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await appendFile(src, 'more data');
      const f = await p.file('growing.raw');
      if (f) expect(['discovered', 'acquiring']).toContain(f.status);
    }
    const f = await p.waitStatus('growing.raw', 'done_not_processed');
    expect(Number(f.size_bytes)).toBe(1 + 8 * 9);
    expect((await p.timeline(f.id)).join('\n')).toMatch(/acquiring→acquired: size and mtime unchanged/);
  });

  it('never counts a zero-size file as acquired', async () => {
    p = await createPipeline(standardConfig());
    await writeFile(path.join(p.root, 'astral1', 'empty.raw'), '');
    await p.start();
    await p.waitStatus('empty.raw', 'acquiring');
    await new Promise((r) => setTimeout(r, 2500)); // longer than the stable window
    expect((await p.file('empty.raw'))!.status).toBe('acquiring');
  });

  it('counts a file acquired as soon as a newer raw file appears', async () => {
    p = await createPipeline(
      (root) =>
        `${standardConfig()(root)}  slow1:\n    type: thermo\n    watch: ${root}/slow1\n    scan_interval_seconds: 0.2\n    acquisition: { stable_window_seconds: 3600 }\n`,
    );
    const dir = path.join(p.root, 'slow1');
    await writeFile(path.join(dir, 'first.raw'), 'first');
    await p.start();
    await p.waitStatus('first.raw', 'acquiring');
    await writeFile(path.join(dir, 'second.raw'), 'second');
    const later = new Date(Date.now() + 5000);
    await utimes(path.join(dir, 'second.raw'), later, later);
    const f = await p.waitStatus('first.raw', 'done_not_processed');
    expect((await p.timeline(f.id)).join('\n')).toMatch(/newer/i);
    expect((await p.file('second.raw'))!.status).toBe('acquiring'); // the newest waits for its window
  });

  it('backs up a Bruker .d folder only once its main file exists, and fails it after the timeout without one', async () => {
    // a main-file timeout well beyond the 1.5 s this test waits before writing the main file, even
    // on a busy machine
    p = await createPipeline((root) =>
      standardConfig()(root).replace('main_file_timeout_seconds: 3', 'main_file_timeout_seconds: 12'),
    );
    const good = path.join(p.root, 'tims1', 'run1.d');
    await mkdir(path.join(good, 'sub'), { recursive: true });
    await writeFile(path.join(good, 'analysis.tdf'), 'meta');
    await writeFile(path.join(good, 'sub', 'frames.bin'), Buffer.alloc(100_000, 3));
    const bad = path.join(p.root, 'tims1', 'broken.d');
    await mkdir(bad);
    await writeFile(path.join(bad, 'analysis.tdf'), 'meta only');
    await p.start();
    await p.waitStatus('run1.d', 'acquiring');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await p.file('run1.d'))!.status).toBe('acquiring'); // no analysis.tdf_bin yet
    await writeFile(path.join(good, 'analysis.tdf_bin'), Buffer.alloc(500_000, 9));
    await chmod(path.join(good, 'sub'), 0o555); // a read-only subfolder
    const f = await p.waitStatus('run1.d', 'done_not_processed');
    const dest = backupLocation(p.config, f);
    expect((await readdir(dest)).sort()).toEqual(['analysis.tdf', 'analysis.tdf_bin', 'sub']);
    expect(sha(await readFile(path.join(dest, 'sub', 'frames.bin')))).toBe(sha(Buffer.alloc(100_000, 3)));
    expect(f.manifest!.entries.map((e) => e.rel).sort()).toEqual([
      'analysis.tdf',
      'analysis.tdf_bin',
      'sub/frames.bin',
    ]);
    const b = await p.waitStatus('broken.d', 'acquisition_failed', 30_000);
    expect(b.status_reason).toMatch(/analysis\.tdf_bin/);
    await chmod(path.join(good, 'sub'), 0o755);
  });

  it('backs up a Sciex .wiff with its companions together', async () => {
    p = await createPipeline(standardConfig());
    const dir = path.join(p.root, 'zeno1');
    await writeFile(path.join(dir, 'inj1.wiff'), 'main');
    await writeFile(path.join(dir, 'inj1.wiff.scan'), Buffer.alloc(50_000, 1));
    await writeFile(path.join(dir, 'inj1.wiff2'), 'two');
    await p.start();
    const f = await p.waitStatus('inj1.wiff', 'done_not_processed');
    expect([...f.companions].sort()).toEqual(['inj1.wiff.scan', 'inj1.wiff2']);
    const dest = backupLocation(p.config, f);
    expect((await readdir(dest)).sort()).toEqual(['inj1.wiff', 'inj1.wiff.scan', 'inj1.wiff2']);
  });

  it('picks generic raw data by glob and leaves other files alone', async () => {
    p = await createPipeline(standardConfig());
    const dir = path.join(p.root, 'scope1');
    await writeFile(path.join(dir, 'image1.tif'), 'pixels');
    await writeFile(path.join(dir, 'notes.txt'), 'not raw data');
    await p.start();
    await p.waitStatus('image1.tif', 'done_not_processed');
    await new Promise((r) => setTimeout(r, 500));
    expect(await p.file('notes.txt')).toBeUndefined();
  });

  it('gives a name that returns with different content its own id, keeps the old record, and does not duplicate a file seen again', async () => {
    p = await createPipeline(standardConfig());
    const src = path.join(p.root, 'astral1', 'qc.raw');
    await writeFile(src, 'first acquisition');
    await p.start();
    await p.waitStatus('qc.raw', 'done_not_processed');
    await new Promise((r) => setTimeout(r, 600)); // several scans of the same file: no new record
    expect((await p.db.query(`select id from files where name = 'qc.raw'`)).length).toBe(1);
    // The new acquisition appears whole (written aside, then renamed): a scan that caught it
    // half-written would rightly report the size it saw then, which is not what this test is about.
    await writeFile(`${src}.part`, 'second acquisition, other content');
    await rename(`${src}.part`, src);
    const rows = await (async () => {
      for (;;) {
        const r = await p!.db.query<{ id: string; status: string }>(
          `select id, status from files where name = 'qc.raw' order by created_at`,
        );
        if (r.length === 2 && r[1]!.status === 'done_not_processed') return r;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    expect(rows[0]!.id).toBe('qc.raw');
    expect(rows[1]!.id).toMatch(/^\d{8}-\d{6}-qc\.raw$/);
    const second = (await p.file(rows[1]!.id))!;
    expect(await readFile(backupLocation(p.config, second), 'utf8')).toBe(
      'second acquisition, other content',
    );
    expect(await readFile(backupLocation(p.config, (await p.file('qc.raw'))!), 'utf8')).toBe(
      'first acquisition',
    );
    expect((await p.timeline(second.id))[0]).toMatch(
      /reappeared with other content \(33 bytes, was 17\); the earlier record qc\.raw is kept/,
    );
  });

  it('does not back up again raw data whose modification time alone changed, but copies same-size data with other content', async () => {
    p = await createPipeline(standardConfig());
    const src = path.join(p.root, 'astral1', 'qc.raw');
    await writeFile(src, 'first acquisition');
    const run = path.join(p.root, 'tims1', 'run1.d');
    await mkdir(run);
    await writeFile(path.join(run, 'analysis.tdf'), 'meta');
    await writeFile(path.join(run, 'analysis.tdf_bin'), Buffer.alloc(50_000, 4));
    const zeno = path.join(p.root, 'zeno1');
    await writeFile(path.join(zeno, 'inj1.wiff'), 'main');
    await writeFile(path.join(zeno, 'inj1.wiff2'), 'two');
    await p.start();
    for (const name of ['qc.raw', 'run1.d', 'inj1.wiff']) await p.waitStatus(name, 'done_not_processed');
    const records = (name: string, n: number, status: string) =>
      waitFor(`${n} records of ${name}, the last ${status}`, async () => {
        const r = await p!.db.query<{ id: string; status: string }>(
          `select id, status from files where name = $1 order by created_at, id`,
          [name],
        );
        return r.length === n && r[n - 1]!.status === status ? r : undefined;
      });
    // opened and saved without changes: a new modification time, the same bytes
    const later = new Date(Date.now() + 30_000);
    await utimes(src, later, later);
    await utimes(path.join(run, 'analysis.tdf'), later, later);
    await utimes(path.join(zeno, 'inj1.wiff2'), later, later);
    for (const first of ['qc.raw', 'run1.d', 'inj1.wiff']) {
      const [, again] = await records(first, 2, 'ignored');
      const twin = (await p.file(again!.id))!;
      expect(twin.status_reason).toMatch(
        new RegExp(
          `same content as ${first.replace(/\./g, '\\.')}, whose verified backup .* not backed up again`,
        ),
      );
      expect((await p.timeline(twin.id))[0]).toMatch(
        /reappeared with another modification time \(same size; the content is compared before its backup\)/,
      );
      expect(await copiesOf(p.db, twin.id)).toEqual([]);
      expect(existsSync(backupLocation(p.config, twin))).toBe(false);
      expect((await p.timeline(first)).at(-1)).toMatch(
        new RegExp(`seen again as ${twin.id.replace(/\./g, '\\.')} with the same content`),
      );
    }
    await new Promise((r) => setTimeout(r, 600)); // later scans: no further records
    expect((await p.db.query(`select id from files where name = 'qc.raw'`)).length).toBe(2);
    // other bytes of the same size are a new acquisition, backed up
    await writeFile(src, 'first acquisitioN');
    await writeFile(path.join(run, 'analysis.tdf'), 'META');
    const [, , third] = await records('qc.raw', 3, 'done_not_processed');
    expect(await readFile(backupLocation(p.config, (await p.file(third!.id))!), 'utf8')).toBe(
      'first acquisitioN',
    );
    const [, , folder] = await records('run1.d', 3, 'done_not_processed');
    const folderCopy = backupLocation(p.config, (await p.file(folder!.id))!);
    expect(await readFile(path.join(folderCopy, 'analysis.tdf'), 'utf8')).toBe('META');
    // a companion more, even an empty one (the same total size), is other raw data
    await writeFile(path.join(zeno, 'inj1.wiff.scan'), '');
    const newest = new Date(later.getTime() + 5000); // so the scan sees the set change
    await utimes(path.join(zeno, 'inj1.wiff.scan'), newest, newest);
    const [, , set] = await records('inj1.wiff', 3, 'done_not_processed');
    expect((await readdir(backupLocation(p.config, (await p.file(set!.id))!))).sort()).toEqual([
      'inj1.wiff',
      'inj1.wiff.scan',
      'inj1.wiff2',
    ]);
  });

  it('backs up files of the same name on two instruments, the second under a collision id', async () => {
    p = await createPipeline(
      (root) =>
        `${standardConfig()(root)}  astral2:\n    type: thermo\n    watch: ${root}/astral2\n    scan_interval_seconds: 0.2\n    acquisition: { stable_window_seconds: 1 }\n`,
    );
    await writeFile(path.join(p.root, 'astral1', 'blank.raw'), 'blank on astral1');
    await p.start();
    await p.waitStatus('blank.raw', 'done_not_processed');
    await writeFile(path.join(p.root, 'astral2', 'blank.raw'), 'blank on astral2, other bytes');
    const second = await (async () => {
      for (;;) {
        const [row] = await p!.db.query<{ id: string; status: string }>(
          `select id, status from files where instrument_id = 'astral2' and name = 'blank.raw'`,
        );
        if (row?.status === 'done_not_processed') return (await p!.file(row.id))!;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    expect(second.id).toMatch(/^\d{8}-\d{6}-blank\.raw$/);
    expect(await readFile(backupLocation(p.config, second), 'utf8')).toBe('blank on astral2, other bytes');
    const first = (await p.file('blank.raw'))!;
    expect(first.instrument_id).toBe('astral1');
    expect(await readFile(backupLocation(p.config, first), 'utf8')).toBe('blank on astral1');
    expect((await p.timeline(second.id))[0]).toMatch(
      /the id blank\.raw is already taken by a file of another instrument/,
    );
    await new Promise((r) => setTimeout(r, 600)); // later scans: no further records
    expect((await p.db.query(`select id from files where name = 'blank.raw'`)).length).toBe(2);
  });

  it('reports a file deleted before backup and a Thermo _CORRUPTED rename instead of crashing', async () => {
    p = await createPipeline(
      (root) =>
        `${standardConfig()(root)}  slow2:\n    type: thermo\n    watch: ${root}/slow2\n    scan_interval_seconds: 0.2\n    acquisition: { stable_window_seconds: 3600, newer_file_means_done: false }\n`,
    );
    const dir = path.join(p.root, 'slow2');
    await writeFile(path.join(dir, 'gone.raw'), 'x');
    await writeFile(path.join(dir, 'bad.raw'), 'y');
    await p.start();
    await p.waitStatus('gone.raw', 'acquiring');
    await p.waitStatus('bad.raw', 'acquiring');
    const goneStat = await stat(path.join(dir, 'gone.raw'));
    await rm(path.join(dir, 'gone.raw'));
    await rename(path.join(dir, 'bad.raw'), path.join(dir, 'bad_CORRUPTED.raw'));
    const gone = await p.waitStatus('gone.raw', 'error');
    expect(gone.status_reason).toMatch(/disappeared from .*slow2 before it was backed up/);
    expect(gone.instrument_copy).toBe('missing');
    const bad = await p.waitStatus('bad.raw', 'acquisition_failed');
    expect(bad.status_reason).toMatch(/renamed it to bad_CORRUPTED\.raw/);
    expect((await p.waitStatus('bad_CORRUPTED.raw', 'acquisition_failed')).status_reason).toMatch(
      /CORRUPTED/,
    );
    expect(p.worker!.runningCount).toBeGreaterThanOrEqual(0); // the worker is still alive
    // Put back unchanged: the same record goes on acquiring (no new record), its copy present again.
    await writeFile(path.join(dir, '.gone.raw'), 'x'); // hidden from scans until renamed
    // the same mtime to the millisecond (a Date would be converted to seconds with a rounding error)
    const mtime = (Math.floor(goneStat.mtimeMs) + 0.5) / 1000;
    await utimes(path.join(dir, '.gone.raw'), mtime, mtime);
    await rename(path.join(dir, '.gone.raw'), path.join(dir, 'gone.raw'));
    const back = await p.waitStatus('gone.raw', 'acquiring');
    expect(back.instrument_copy).toBe('present');
    expect((await p.timeline('gone.raw')).at(-1)).toMatch(
      /error→acquiring: back in .*slow2, unchanged, after it disappeared/,
    );
    expect((await p.db.query(`select id from files where name = 'gone.raw'`)).length).toBe(1);
  });

  it('ignores raw data older than max_file_age_hours', async () => {
    p = await createPipeline(standardConfig('variables:\n  max_file_age_hours: 1\n'));
    const src = path.join(p.root, 'astral1', 'ancient.raw');
    await writeFile(src, 'old');
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(src, old, old);
    await p.start();
    const f = await p.waitStatus('ancient.raw', 'ignored');
    expect(f.status_reason).toMatch(/max_file_age_hours/);
  });

  it('associates an identical existing backup without copying, and stops on a differing one until an operator accepts the overwrite', async () => {
    p = await createPipeline(standardConfig());
    const dir = path.join(p.root, 'astral1');
    await writeFile(path.join(dir, 'same.raw'), 'identical');
    await writeFile(path.join(dir, 'diff.raw'), 'the real data');
    const fake = { instrument_id: 'astral1', project_id: '_unassigned', mtime: new Date() };
    const sameDest = backupLocation(p.config, { ...fake, id: 'same.raw' });
    const diffDest = backupLocation(p.config, { ...fake, id: 'diff.raw' });
    await mkdir(path.dirname(sameDest), { recursive: true });
    await writeFile(sameDest, 'identical');
    // same name and size, other bytes: the same acquisition as far as metadata tells (a differing
    // size makes it a re-used name with its own collision id: test/fallback.test.ts), so only the
    // hashes tell them apart — and the file stops
    await writeFile(diffDest, 'the fake data');
    await p.start();
    await p.waitStatus('same.raw', 'done_not_processed');
    expect((await copiesOf(p.db, 'same.raw'))[0]!.associated).toBe(true);
    const d = await p.waitStatus('diff.raw', 'error');
    expect(d.status_reason).toMatch(/existing backup at .*diff\.raw differs from the source/);
    expect(d.status_reason).toMatch(/accept-overwrite/);
    expect(await readFile(diffDest, 'utf8')).toBe('the fake data'); // never overwritten silently
    // The database fails once, after the new copy was committed (a connection lost, a worker killed
    // before it recorded its work): the retry finds the good new copy, and must not move it aside too.
    await p.db.exec(`
      create sequence test_fail_once;
      create function test_fail_copy() returns trigger language plpgsql as $$
      begin
        if new.file_id = 'diff.raw' and nextval('test_fail_once') = 1 then
          raise exception 'simulated database failure';
        end if;
        return new;
      end $$;
      create trigger test_fail_copy before insert on copies for each row execute function test_fail_copy();`);
    const { acceptOverwrite } = await import('../src/pipeline/actions.ts');
    await acceptOverwrite(p.db, p.config, 'diff.raw', 'test');
    await p.waitStatus('diff.raw', 'done_not_processed', 60_000);
    expect((await p.timeline('diff.raw')).join('\n')).toMatch(/simulated database failure/);
    expect((await copiesOf(p.db, 'diff.raw')).at(-1)!.associated).toBe(true);
    expect(await readFile(diffDest, 'utf8')).toBe('the real data');
    const kept = (await readdir(path.dirname(diffDest))).filter((n) => n.startsWith('diff.raw.replaced-'));
    expect(kept).toHaveLength(1);
    expect(await readFile(path.join(path.dirname(diffDest), kept[0]!), 'utf8')).toBe('the fake data');
  });

  it('marks an instrument offline when its folder disappears and picks up every file when it returns', async () => {
    p = await createPipeline(standardConfig());
    const dir = path.join(p.root, 'astral1');
    await writeFile(path.join(dir, 'before.raw'), 'before');
    await p.start();
    await p.waitStatus('before.raw', 'done_not_processed');
    const away = `${dir}.away`;
    await rename(dir, away);
    const offline = async () =>
      await p!.db.one<{ online: boolean; offline_reason: string | null }>(
        `select online, offline_reason from instruments where id = 'astral1'`,
      );
    await waitFor('the instrument offline', async () => !(await offline()).online);
    expect((await offline()).offline_reason).toMatch(/does not exist \(is the share mounted\?\)/);
    expect((await p.file('before.raw'))!.status).toBe('done_not_processed'); // nothing recorded as vanished
    await writeFile(path.join(away, 'during.raw'), 'written while unmounted');
    await rename(away, dir);
    await p.waitStatus('during.raw', 'done_not_processed');
    expect((await offline()).online).toBe(true);
    const ev = await p.db.query<{ to_state: string }>(
      `select to_state from events where subject_type = 'instrument' and subject_id = 'astral1' order by id`,
    );
    expect(ev.map((e) => e.to_state)).toEqual(['offline', 'online']);
  });
});
