/**
 * Processing end to end with the local executor (real child processes, real files, real
 * PostgreSQL): success with metrics, known and unknown failures, output-exists modes, injection
 * attempts through file names, cancel, a crash between submit and record, the cluster pool limit.
 * The same lifecycle on real SLURM is in test/processing-slurm.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { retryFile } from '../src/pipeline/actions.ts';
import { cancelJobs } from '../src/process/actions.ts';
import { LocalExecutor } from '../src/process/executors/index.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { jobKey, outputDirFor } from '../src/process/paths.ts';
import { instrumentYaml } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const processor = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/demo/processor.mjs');
let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** A config with one thermo instrument and the given processing settings (YAML, indented 2). */
const withProcessing =
  (settings: string, extra = '') =>
  (root: string) =>
    `
data_dir: ${root}/data
backup: { path: ${root}/backup }
pools: { cluster: ${extra.includes('cluster1') ? 1 : 4} }
projects: { PRJ: { tokens: [prj] } }
instruments:
${instrumentYaml(root)}
processing:
  executor: local
  poll_seconds: 0.3
  environment: "true"
  settings:
${settings}
  assignments:
    - settings: qc
      projects: ['*']
`;

const qcSettings = (template: string, more = '') => `    qc:
      version: 1
      software: demo
      software_version: "1.0"
      template: |
${template
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
      metrics: { type: alphadia }
      known_errors:
        - { pattern: "no precursors found", reason: "the sample had no identifiable peptides; check the injection" }
${more}`;

const processorTemplate = `{{env}}\nnode ${processor} --raw {{raw_path}} --out {{output_dir}} --seconds 0`;

describe('processing with the local executor', () => {
  it('runs a job per backed-up file, records exit status, elapsed time, log tail and metrics, and ends done', async () => {
    p = await createPipeline(withProcessing(qcSettings(processorTemplate)));
    await writeFile(path.join(p.root, 'astral1', 'prj_run1.raw'), 'some raw data for the processor');
    await p.start();
    const f = await p.waitStatus('prj_run1.raw', ['done', 'error', 'processing_failed'], 60_000);
    const [job] = await jobsOf(p.db, f.id);
    if (f.status !== 'done') {
      // the demo processor fails about 1 in 15 files on purpose; this file's name is chosen not to
      throw new Error(`${f.status}: ${f.status_reason}\n${job?.log_tail}`);
    }
    expect(job).toMatchObject({
      state: 'COMPLETED',
      exit_code: 0,
      outcome: 'success',
      settings_name: 'qc',
      settings_version: 1,
    });
    expect(job!.log_tail).toMatch(/demo processor: .*prj_run1\.raw/);
    expect(job!.elapsed_s).not.toBeNull();
    const metrics = await p.db.query<{ name: string; value: number | null }>(
      `select name, value from metrics where file_id = $1`,
      [f.id],
    );
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m.value]));
    expect(byName.precursors).toBeGreaterThan(1000);
    expect(byName['calibration.ms1_median_accuracy']).toBeNull(); // NaN in the output
    const states = (await p.timeline(f.id)).map((l) => l.split(':')[0]).filter((s) => s !== '→');
    expect(states.slice(-3)).toEqual(['backed_up→processing', 'processing→processed', 'processed→done']);
    expect(existsSync(path.join(outputDirFor(p.config, f, 'qc', 1), 'stat.tsv'))).toBe(true);
  });

  it('classifies a failure by the known error patterns (processing_failed) and any other failure as error', async () => {
    p = await createPipeline(
      withProcessing(
        qcSettings(
          `case {{raw_name}} in\n  *known*) echo "ERROR: no precursors found" >&2; exit 3;;\n  *) echo "segfault somewhere" >&2; exit 7;;\nesac`,
        ),
      ),
    );
    await writeFile(path.join(p.root, 'astral1', 'a_known.raw'), 'x');
    await writeFile(path.join(p.root, 'astral1', 'b_other.raw'), 'y');
    await p.start();
    const known = await p.waitStatus('a_known.raw', 'processing_failed', 60_000);
    expect(known.status_reason).toContain('the sample had no identifiable peptides');
    const other = await p.waitStatus('b_other.raw', 'error', 60_000);
    expect(other.status_reason).toMatch(/exit code 7/);
    const [job] = await jobsOf(p.db, other.id);
    expect(job).toMatchObject({ state: 'FAILED', exit_code: 7, outcome: 'unknown_error' });
    expect(job!.log_tail).toContain('segfault somewhere');
  });

  it('passes hostile file names to the job as data, never as commands', async () => {
    p = await createPipeline(
      withProcessing(
        qcSettings(`printf '%s\\n' {{raw_name}} > {{output_dir}}/seen-name.txt\n${processorTemplate}`),
      ),
    );
    const hostile = 'x $(touch pwned1) `touch pwned2`; touch pwned3 \'q" prj.raw';
    await writeFile(path.join(p.root, 'astral1', hostile), 'data');
    await p.start();
    const f = await p.waitStatus(hostile, ['done', 'error', 'processing_failed'], 60_000);
    const out = outputDirFor(p.config, f, 'qc', 1);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(path.join(out, 'seen-name.txt'), 'utf8')).trim()).toBe(hostile);
    for (const dir of [out, p.root, path.join(p.root, 'astral1'), process.cwd()]) {
      const names = await readdir(dir);
      expect(names.filter((n) => n.startsWith('pwned'))).toEqual([]);
    }
  });

  it('output_exists_mode: raise stops with a hint; add writes a new folder; overwrite keeps the old one renamed', async () => {
    p = await createPipeline(withProcessing(qcSettings(processorTemplate)));
    const f0 = { id: 'prj_exists.raw', project_id: 'PRJ' };
    const out = outputDirFor(p.config, f0, 'qc', 1);
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'old-result.txt'), 'earlier output');
    await writeFile(path.join(p.root, 'astral1', 'prj_exists.raw'), 'data');
    await p.start();
    const raised = await p.waitStatus('prj_exists.raw', 'error', 60_000);
    expect(raised.status_reason).toMatch(/output folder .* already exists/);
    expect(raised.status_reason).toMatch(/sluice files retry ID --output-exists overwrite/);
    await p.vars.set('output_exists_mode', 'add', 'test');
    await retryFile(p.db, p.config, 'prj_exists.raw', 'test');
    await p.waitStatus('prj_exists.raw', ['done', 'processing_failed', 'error'], 60_000);
    const jobs = await jobsOf(p.db, 'prj_exists.raw');
    expect(jobs.at(-1)!.output_dir).toBe(`${out}_2`);
    expect(existsSync(path.join(out, 'old-result.txt'))).toBe(true);
    // a retry's own mode wins over the variable (still `add`)
    await retryFile(p.db, p.config, 'prj_exists.raw', 'test', { outputExists: 'overwrite' });
    await waitFor(
      'third job final',
      async () =>
        (await jobsOf(p!.db, 'prj_exists.raw')).length === 3 &&
        (await jobsOf(p!.db, 'prj_exists.raw'))[2]!.finished_at !== null,
      60_000,
    );
    const parent = path.dirname(out);
    const aside = (await readdir(parent)).filter((n) => n.startsWith('qc-v1.overwritten-'));
    expect(aside).toHaveLength(1);
    expect(existsSync(path.join(parent, aside[0]!, 'old-result.txt'))).toBe(true);
    expect((await p.timeline('prj_exists.raw')).join('\n')).toMatch(
      /moved aside to \S+qc-v1\.overwritten-\S+ \(--output-exists overwrite on retry\)/,
    );
  });

  it('output_exists_mode associate attaches the job recorded in the existing output instead of running again', async () => {
    p = await createPipeline(withProcessing(qcSettings(processorTemplate)));
    await writeFile(path.join(p.root, 'astral1', 'prj_assoc.raw'), 'data');
    await p.start();
    await p.waitStatus('prj_assoc.raw', 'done', 60_000);
    const first = (await jobsOf(p.db, 'prj_assoc.raw'))[0]!;
    await p.vars.set('output_exists_mode', 'associate', 'test');
    await retryFile(p.db, p.config, 'prj_assoc.raw', 'test');
    await waitFor(
      'second job final',
      async () => {
        const js = await jobsOf(p!.db, 'prj_assoc.raw');
        return js.length === 2 && js[1]!.finished_at !== null;
      },
      60_000,
    );
    const second = (await jobsOf(p.db, 'prj_assoc.raw'))[1]!;
    expect(second.job_id).toBe(first.job_id);
    expect((await p.timeline('prj_assoc.raw')).join('\n')).toMatch(/associated with job/);
  });

  it('finds a job submitted just before a crash by its key, and does not submit it twice', async () => {
    p = await createPipeline(withProcessing(qcSettings(`sleep 1\n${processorTemplate}`)));
    // The job is submitted "by a worker that crashed before recording it": directly, with the key
    // the submit task will use.
    const file = { id: 'prj_crash.raw', project_id: 'PRJ' };
    const out = outputDirFor(p.config, file, 'qc', 1);
    await mkdir(out, { recursive: true });
    const ex = new LocalExecutor();
    const { jobId } = await ex.submit({
      key: jobKey(file.id, 'qc', 1, 1),
      script: '#!/bin/sh\nsleep 2\necho done-by-orphan\n',
      workDir: out,
    });
    await writeFile(path.join(p.root, 'astral1', 'prj_crash.raw'), 'data');
    await p.start();
    await waitFor('the job recorded', async () => (await jobsOf(p!.db, file.id))[0]?.job_id, 60_000);
    const jobs = await jobsOf(p.db, file.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.job_id).toBe(jobId);
    expect((await p.timeline(file.id)).join('\n')).toMatch(/not submitted again/);
    await ex.close();
  });

  it('cancels a running job on request and ends the file processing_failed, naming who cancelled', async () => {
    p = await createPipeline(withProcessing(qcSettings('sleep 60')));
    await writeFile(path.join(p.root, 'astral1', 'prj_long.raw'), 'data');
    await p.start();
    await waitFor(
      'job running',
      async () => ['PENDING', 'RUNNING'].includes((await jobsOf(p!.db, 'prj_long.raw'))[0]?.state ?? ''),
      60_000,
    );
    await cancelJobs(p.db, p.config, 'prj_long.raw', 'operator-ann');
    const f = await p.waitStatus('prj_long.raw', 'processing_failed', 60_000);
    expect(f.status_reason).toContain('cancelled by operator-ann');
    expect((await jobsOf(p.db, f.id))[0]!.state).toBe('CANCELLED');
  });

  it('never has more jobs submitted and unfinished than the cluster pool allows', async () => {
    p = await createPipeline(withProcessing(qcSettings(`sleep 0.5\n${processorTemplate}`), 'cluster1'));
    for (const n of ['prj_p1.raw', 'prj_p2.raw', 'prj_p3.raw'])
      await writeFile(path.join(p.root, 'astral1', n), `data ${n}`);
    await p.start();
    for (const n of ['prj_p1.raw', 'prj_p2.raw', 'prj_p3.raw'])
      await p.waitStatus(n, ['done', 'processing_failed', 'error'], 90_000);
    const jobs = await p.db.query<{ submitted_at: Date; finished_at: Date }>(
      'select submitted_at, finished_at from jobs order by submitted_at',
    );
    expect(jobs).toHaveLength(3);
    for (let i = 1; i < jobs.length; i++) {
      expect(jobs[i]!.submitted_at.getTime()).toBeGreaterThanOrEqual(jobs[i - 1]!.finished_at.getTime());
    }
  });
});
