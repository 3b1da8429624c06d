/**
 * Fallback and catch-up, end to end (real PostgreSQL, real files, the local executor): the main
 * instance A (database 1) goes down; an independent fallback instance B (database 2, empty, same
 * instrument folders, backup area and output folder) backs up and processes meanwhile and never
 * moves or removes instrument data; when A returns its normal scan finds the files and associates
 * B's backups (hash verified) and outputs (job manifest: key, file, settings hash, success) without
 * copying or processing anything again. Mismatches are never accepted silently.
 *
 * "Processed again" is measured by the processing command itself: the job template appends the raw
 * file's name to `invocations.log`, then writes an AlphaDIA-style stat.tsv. "Copied again" by the backup
 * file's inode and mtime, and by the copy rows' `associated`.
 */
import { existsSync } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initTarget } from '../src/backup/target.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { enqueue } from '../src/engine/enqueue.ts';
import { statusSnapshot } from '../src/engine/status.ts';
import { copiesOf, getFile } from '../src/files/repo.ts';
import { reconcileReport } from '../src/ops/reconcile.ts';
import { JOB_MANIFEST } from '../src/process/job-manifest.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { outputDirFor } from '../src/process/paths.ts';
import { qcProcessing } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const FINAL = ['done', 'done_not_processed', 'error', 'processing_failed'] as const;

let a: Pipeline | undefined;
let b: Pipeline | undefined;
afterEach(async () => {
  await b?.close();
  await a?.close();
  a = undefined;
  b = undefined;
});

interface Opts {
  mode: 'normal' | 'fallback';
  /** Moving and removal as configured (a fallback must ignore both). */
  move?: boolean;
  dryRun?: boolean;
  /** A line added to the job template: a different definition of qc v1. */
  templateVariant?: string;
}

/**
 * Instance config: its own data_dir (and database, from the pipeline helper); the instrument
 * folder, backup area and output folder under `shared`. Cleanup is enabled with an impossible
 * free-space goal, so a remover would delete everything it may.
 */
const instanceConfig = (shared: string, o: Opts) => (root: string) =>
  `
data_dir: ${root}/data
instance: { mode: ${o.mode} }
backup: { path: ${shared}/backup }
projects: { PRJ: { tokens: [prj] } }
cleanup: { allow_outside_production: true }
variables: { cleanup_dry_run: ${o.dryRun ?? true} }
instruments:
  astral1:
    type: thermo
    watch: ${shared}/astral1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.5 }
    move_after_backup: ${o.move ?? false}
    cleanup: { enabled: true, min_free_space_gb: 1000000, min_file_age_days: 0 }
${qcProcessing({
  head: [`output_path: ${shared}/output`],
  software: 'demo',
  qc: ['metrics: { type: alphadia }'],
  template: `{{env}}${o.templateVariant ? `\n${o.templateVariant}` : ''}
echo {{raw_name}} >> ${shared}/invocations.log
case {{raw_name}} in *mid*) sleep 3;; *fail*) echo "segfault" >&2; exit 7;; esac
test -s {{raw_path}}
printf 'run\\tchannel\\tprecursors\\n%s\\t0\\t4321\\n' "$(basename {{raw_name}} .raw)" > {{output_dir}}/stat.tsv`,
})}
  assignments:
    - settings: qc
      projects: ['*']
`;

async function mainInstance(o: Partial<Opts> = {}): Promise<Pipeline> {
  const p = await createPipeline((root) => instanceConfig(root, { mode: 'normal', ...o })(root));
  // A has run before: its backup area carries its marker, which B needs (src/backup/target.ts)
  await initTarget(p.config);
  return p;
}

async function fallbackInstance(shared: string, o: Partial<Opts> = {}): Promise<Pipeline> {
  return createPipeline(instanceConfig(shared, { mode: 'fallback', move: true, dryRun: false, ...o }));
}

const raw = (p: Pipeline, name: string) => path.join(p.root, 'astral1', name);
const put = (p: Pipeline, name: string, content = `raw data of ${name}`) => writeFile(raw(p, name), content);

async function invocations(shared: string): Promise<Record<string, number>> {
  const text = await readFile(path.join(shared, 'invocations.log'), 'utf8').catch(() => '');
  const out: Record<string, number> = {};
  for (const l of text.split('\n').filter(Boolean)) out[l] = (out[l] ?? 0) + 1;
  return out;
}

async function backupStat(p: Pipeline, id: string) {
  const [copy] = await copiesOf(p.db, id);
  const st = await stat(copy!.location);
  return { location: copy!.location, ino: st.ino, mtimeMs: st.mtimeMs, associated: copy!.associated };
}

describe('fallback instance and catch-up', () => {
  it('B backs up and processes while A is down; A catches up by association, with no copy and no job run again, then cleans up', async () => {
    a = await mainInstance();
    const shared = a.root;
    await put(a, 'prj_a1.raw');
    await a.start();
    await a.waitStatus('prj_a1.raw', 'done', 60_000);
    // A goes down while the job of prj_mid.raw runs (the job keeps running: it is detached)
    await put(a, 'prj_mid.raw');
    const aMidJob = await waitFor(
      'the job of prj_mid.raw submitted by A',
      async () => (await jobsOf(a!.db, 'prj_mid.raw')).find((j) => j.job_id && j.state !== 'COMPLETED'),
      60_000,
    );
    await a.stop();

    // B: an empty database, same folders, fallback mode with moving and removal configured
    await put(a, 'prj_b1.raw');
    await put(a, 'prj_b3.raw');
    b = await fallbackInstance(shared);
    await b.start();
    for (const n of ['prj_a1.raw', 'prj_mid.raw', 'prj_b1.raw', 'prj_b3.raw']) {
      const f = await b.waitStatus(n, [...FINAL], 60_000);
      expect(f.status, `${n} on B: ${f.status_reason}`).toBe('done');
    }
    const snapshot = await statusSnapshot(b.db, 60_000);
    expect(snapshot.processes.map((p) => p.mode)).toEqual(['fallback']);
    const bBackups = { b1: await backupStat(b, 'prj_b1.raw'), b3: await backupStat(b, 'prj_b3.raw') };
    const bJobs = {
      b1: (await jobsOf(b.db, 'prj_b1.raw'))[0]!,
      b3: (await jobsOf(b.db, 'prj_b3.raw'))[0]!,
    };
    await b.stop();

    // B moved and removed nothing
    for (const n of ['prj_a1.raw', 'prj_mid.raw', 'prj_b1.raw', 'prj_b3.raw']) {
      expect(existsSync(raw(a, n)), n).toBe(true);
      expect((await b.file(n))!.instrument_copy).toBe('present');
    }
    expect((await b.timeline('prj_b1.raw')).join('\n')).toMatch(/not moved .*fallback instance/);
    // B associated what A had done: A's backup and A's finished output; it adopted A's running job
    expect((await backupStat(b, 'prj_a1.raw')).associated).toBe(true);
    expect((await jobsOf(b.db, 'prj_a1.raw'))[0]).toMatchObject({ associated: true, outcome: 'success' });
    expect((await jobsOf(b.db, 'prj_mid.raw'))[0]).toMatchObject({
      job_id: aMidJob.job_id,
      associated: false,
      state: 'COMPLETED',
    });
    expect(bBackups.b1.associated).toBe(false); // B made these copies
    expect(bJobs.b1.associated).toBe(false); // and ran these jobs

    // A returns: its normal scan and pipeline catch up
    await a.start();
    for (const n of ['prj_mid.raw', 'prj_b1.raw', 'prj_b3.raw']) {
      const f = await a.waitStatus(n, [...FINAL], 60_000);
      expect(f.status, `${n} on A: ${f.status_reason}`).toBe('done');
    }
    for (const [n, before] of [
      ['prj_b1.raw', bBackups.b1],
      ['prj_b3.raw', bBackups.b3],
    ] as const) {
      const now = await backupStat(a, n);
      expect(now).toMatchObject({
        location: before.location,
        ino: before.ino,
        mtimeMs: before.mtimeMs,
        associated: true,
      });
      const timeline = (await a.timeline(n)).join('\n');
      expect(timeline).toMatch(/associated existing backup at .*, hash verified/);
      expect(timeline).toMatch(/associated the existing output .*not submitted again/);
      const [job] = await jobsOf(a.db, n);
      const bJob = n === 'prj_b1.raw' ? bJobs.b1 : bJobs.b3;
      expect(job).toMatchObject({
        key: bJob.key,
        job_id: bJob.job_id,
        state: 'COMPLETED',
        outcome: 'success',
        associated: true,
        output_dir: bJob.output_dir,
      });
      const metrics = await a.db.query<{ name: string; value: number }>(
        `select name, value from metrics where file_id = $1 and name = 'precursors'`,
        [n],
      );
      expect(metrics[0]?.value).toBe(4321); // read from B's output
    }
    // the job A submitted before going down: followed to its end, not run again
    expect((await jobsOf(a.db, 'prj_mid.raw'))[0]).toMatchObject({
      id: aMidJob.id,
      job_id: aMidJob.job_id,
      state: 'COMPLETED',
      outcome: 'success',
    });
    // every processing ran exactly once across both instances
    expect(await invocations(shared)).toEqual({
      'prj_a1.raw': 1,
      'prj_mid.raw': 1,
      'prj_b1.raw': 1,
      'prj_b3.raw': 1,
    });
    // each output carries its manifest
    const manifest = JSON.parse(
      await readFile(path.join(bJobs.b1.output_dir, JOB_MANIFEST), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({ key: bJobs.b1.key, file_id: 'prj_b1.raw', status: 'success' });

    // what `sluice reconcile` shows on A
    const [report] = await reconcileReport(a.db, ['astral1'], { instrument: 'astral1' });
    expect(report).toMatchObject({
      instrument: 'astral1',
      files: 4,
      backups: { associated: 2, copied: 2 },
      jobs: { associated: 2, run: 2 },
      stopped: [],
      pending: 0,
      associatedFiles: ['prj_b1.raw', 'prj_b3.raw'],
    });

    // cleanup on A proceeds normally: the backups are verified in A's own records
    const r = await runRemover(a.db, { config: a.config, vars: a.vars }, 'astral1', silentLogger, {
      dryRun: false,
      force: true,
    });
    expect(r.removed.sort()).toEqual(['prj_a1.raw', 'prj_b1.raw', 'prj_b3.raw', 'prj_mid.raw']);
    for (const n of r.removed) expect(existsSync(raw(a, n))).toBe(false);
  });

  it('does not accept a backup with other bytes, an output of a failed run, or an output made with other settings', async () => {
    a = await mainInstance();
    const shared = a.root;
    await a.stop(); // A is down from the start
    await put(a, 'prj_diff.raw');
    await put(a, 'prj_fail.raw');
    b = await fallbackInstance(shared);
    await b.start();
    await b.waitStatus('prj_diff.raw', 'done', 60_000);
    expect((await b.waitStatus('prj_fail.raw', [...FINAL], 60_000)).status).toBe('error');
    await b.stop();
    // the backup of prj_diff.raw now holds other bytes of the same size (bit rot, a tampered copy)
    const copy = await backupStat(b, 'prj_diff.raw');
    const original = await readFile(copy.location, 'utf8');
    await chmod(copy.location, 0o644);
    await writeFile(copy.location, original.toUpperCase());

    await a.start();
    const diff = await a.waitStatus('prj_diff.raw', 'error', 60_000);
    expect(diff.status_reason).toMatch(/existing backup at .* differs from the source/);
    expect(await readFile(copy.location, 'utf8')).toBe(original.toUpperCase()); // never overwritten
    expect(await copiesOf(a.db, 'prj_diff.raw')).toEqual([]);
    const fail = await a.waitStatus('prj_fail.raw', 'error', 60_000);
    expect(fail.status_reason).toMatch(
      /output folder .* already exists and was not associated: its job manifest records a failed run of this job/,
    );
    expect(fail.status_reason).toMatch(/output_exists_mode/);
    expect((await jobsOf(a.db, 'prj_fail.raw'))[0]).toMatchObject({ associated: false, job_id: null });
    expect(await invocations(shared)).toEqual({ 'prj_diff.raw': 1, 'prj_fail.raw': 1 });
    const [report] = await reconcileReport(a.db, ['astral1']);
    expect(report!.stopped.map((f) => f.id)).toEqual(['prj_diff.raw', 'prj_fail.raw']);
    expect(report!.associatedFiles).toEqual(['prj_fail.raw']); // its backup, not its failed output
    expect(report!.jobs.associated).toBe(0);
  });

  it('does not associate an output whose manifest names another definition of the same settings version', async () => {
    a = await mainInstance();
    const shared = a.root;
    await a.stop();
    await put(a, 'prj_late.raw');
    b = await fallbackInstance(shared, { templateVariant: 'echo "a locally edited template"' });
    await b.start();
    await b.waitStatus('prj_late.raw', 'done', 60_000);
    await b.stop();
    await a.start();
    const f = await a.waitStatus('prj_late.raw', 'error', 60_000);
    expect(f.status_reason).toMatch(/not this job's: it was made with a different definition of qc v1/);
    expect(await invocations(shared)).toEqual({ 'prj_late.raw': 1 });
    expect((await jobsOf(a.db, 'prj_late.raw'))[0]!.associated).toBe(false);
  });

  it('gives a name re-used while A was down the same collision id on both instances', async () => {
    a = await mainInstance();
    const shared = a.root;
    await put(a, 'prj_seen.raw', 'first acquisition');
    await a.start();
    await a.waitStatus('prj_seen.raw', 'done', 60_000);
    await a.stop();
    // while A is down the instrument acquires the same name again (other content, other size)
    await put(a, 'prj_seen.raw', 'second acquisition, a longer one');
    b = await fallbackInstance(shared);
    await b.start();
    const bId = await waitFor(
      'B records the second acquisition',
      async () =>
        (
          await b!.db.maybeOne<{ id: string }>(
            `select id from files where name = 'prj_seen.raw' and status = 'done'`,
          )
        )?.id,
      60_000,
    );
    expect(bId).toMatch(/^\d{8}-\d{6}-prj_seen\.raw$/); // not the plain id: A's backup of it differs
    const before = await backupStat(b, bId);
    await b.stop();
    await a.start();
    const f = await a.waitStatus(bId, [...FINAL], 60_000);
    expect(f.status).toBe('done');
    expect(await backupStat(a, bId)).toMatchObject({
      ino: before.ino,
      mtimeMs: before.mtimeMs,
      associated: true,
    });
    expect((await jobsOf(a.db, bId))[0]!.associated).toBe(true);
    expect((await a.file('prj_seen.raw'))!.status).toBe('done'); // the first record is kept
    expect(await invocations(shared)).toEqual({ 'prj_seen.raw': 2 }); // once per acquisition
  });

  it('never moves or removes instrument data in fallback mode, whatever the cleanup config says', async () => {
    a = await mainInstance();
    await a.stop();
    b = await fallbackInstance(a.root, { move: true, dryRun: false });
    await put(a, 'prj_keep.raw');
    await b.start();
    await b.waitStatus('prj_keep.raw', [...FINAL], 60_000);
    // no remover schedule, and a remover pass (low free space, dry run off, forced) refuses
    expect(await b.db.query(`select name from schedules where name like 'remove:%'`)).toEqual([]);
    const r = await runRemover(b.db, { config: b.config, vars: b.vars }, 'astral1', silentLogger, {
      dryRun: false,
      force: true,
    });
    expect(r).toMatchObject({ enabled: false, removed: [], wouldRemove: [] });
    expect(r.reason).toMatch(/fallback instance/);
    // a move task that somehow exists does nothing either
    const id = await enqueue(b.db, { kind: 'cleanup.move', subject: 'prj_keep.raw', pool: 'cleanup' });
    await waitFor(
      'the move task to finish',
      async () =>
        (await b!.db.one<{ state: string }>('select state from tasks where id = $1', [id])).state ===
        'succeeded',
      30_000,
    );
    expect(existsSync(raw(a, 'prj_keep.raw'))).toBe(true);
    expect((await getFile(b.db, 'prj_keep.raw'))!.instrument_copy).toBe('present');
    const out = outputDirFor(b.config, { id: 'prj_keep.raw', project_id: 'PRJ' }, 'qc', 1);
    expect(existsSync(path.join(out, JOB_MANIFEST))).toBe(true);
  });
});
