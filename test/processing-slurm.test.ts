/**
 * The job lifecycle on a REAL single-node SLURM cluster (scripts/slurm.sh), through the local
 * sbatch/squeue/scontrol/scancel and over SSH (scripts/sshd.sh on 127.0.0.1): success with metrics,
 * a known and an unknown failure, cancel, and slurmctld restarting while a job runs.
 * Skipped with one line when SLURM cannot run here; under CI=true a missing SLURM fails the run.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelJobs } from '../src/process/actions.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { instrumentYaml } from './helpers/config-text.ts';
import { requireSlurm, requireSshd } from './helpers/infra.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const slurm = requireSlurm();
const sshd = slurm ? requireSshd() : undefined;
const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts');

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

// A job script in plain sh (no node on the cluster needed): writes an AlphaDIA-style stat.tsv,
// or fails the way the file name says.
const template = `case {{raw_name}} in
  *known*) echo "ERROR: no precursors found" >&2; exit 3;;
  *crash*) echo "core dumped" >&2; exit 9;;
  *slow*) sleep 12;;
esac
printf 'run\\tprecursors\\tproteins\\n%s\\t%s\\t%s\\n' run 51234 4321 > {{output_dir}}/stat.tsv
echo "processed {{raw_name}}"`;

const config = (ssh: string) => (root: string) =>
  `
data_dir: ${root}/data
backup: { path: ${root}/backup }
pools: { cluster: 10 }
instruments:
${instrumentYaml(root)}
processing:
  executor: slurm
${ssh}
  poll_seconds: 0.5
  lost_after_checks: 20
  environment: "true"
  settings:
    qc:
      version: 1
      software: sh
      software_version: "1"
      resources: { cpus: 1, memory_mb: 200, time_minutes: 5 }
      metrics: { type: tsv, options: { file: stat.tsv, row: first } }
      known_errors: [{ pattern: "no precursors found", reason: "no identifiable peptides" }]
      template: |
${template
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
  assignments: [{ settings: qc }]
`;

async function runFiles(pl: Pipeline, names: string[]) {
  for (const n of names) await writeFile(path.join(pl.root, 'astral1', n), `data ${n}`);
  await pl.start();
}

describe.skipIf(!slurm)('processing on real SLURM (local commands)', () => {
  it('runs jobs to success with metrics, and classifies known and unknown failures', async () => {
    p = await createPipeline(config(''));
    await runFiles(p, ['good.raw', 'a_known.raw', 'b_crash.raw']);
    const good = await p.waitStatus('good.raw', 'done', 120_000);
    const [job] = await jobsOf(p.db, good.id);
    expect(job!.job_id).toMatch(/^\d+$/);
    expect(job).toMatchObject({ state: 'COMPLETED', exit_code: 0 });
    expect(job!.log_tail).toContain('processed good.raw');
    const m = await p.db.one<{ value: number }>(
      `select value from metrics where file_id = 'good.raw' and name = 'precursors'`,
    );
    expect(m.value).toBe(51234);
    expect((await p.waitStatus('a_known.raw', 'processing_failed', 120_000)).status_reason).toContain(
      'no identifiable peptides',
    );
    const crash = await p.waitStatus('b_crash.raw', 'error', 120_000);
    expect(crash.status_reason).toMatch(/exit code 9/);
  });

  it('cancels a running SLURM job on request', async () => {
    p = await createPipeline(config(''));
    await runFiles(p, ['c_slow.raw']);
    await waitFor(
      'job running',
      async () => (await jobsOf(p!.db, 'c_slow.raw'))[0]?.state === 'RUNNING',
      120_000,
      200,
    );
    await cancelJobs(p.db, p.config, 'c_slow.raw', 'operator-bo');
    const f = await p.waitStatus('c_slow.raw', 'processing_failed', 120_000);
    expect(f.status_reason).toContain('cancelled by operator-bo');
  });

  it('keeps following a job while slurmctld restarts', async () => {
    p = await createPipeline(config(''));
    await runFiles(p, ['d_slow.raw']);
    await waitFor(
      'job running',
      async () => (await jobsOf(p!.db, 'd_slow.raw'))[0]?.state === 'RUNNING',
      120_000,
      200,
    );
    const pidFile = path.join(slurm!.dir, 'slurmctld.pid');
    const pid = Number(execFileSync('cat', [pidFile]).toString().trim());
    process.kill(pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 3000)); // polls fail meanwhile: UNKNOWN, not success
    expect((await p.file('d_slow.raw'))!.status).toBe('processing');
    execFileSync(path.join(SCRIPTS, 'slurm.sh'), ['start'], { stdio: 'ignore' });
    const f = await p.waitStatus('d_slow.raw', 'done', 180_000);
    expect((await jobsOf(p.db, f.id))[0]!.state).toBe('COMPLETED');
  });
});

describe.skipIf(!sshd)('processing on real SLURM over SSH', () => {
  it('submits, follows and records a job through ssh with a verified host key', async () => {
    const s = sshd!;
    p = await createPipeline(
      config(`  slurm:
    ssh:
      hosts: ["127.0.0.1:1", "${s.host}:${s.port}"]
      user: ${s.username}
      key_file: ${s.privateKeyPath}
      known_hosts: ${s.knownHostsPath}
      connect_timeout_seconds: 5`),
    );
    await runFiles(p, ['e_ssh.raw']);
    const f = await p.waitStatus('e_ssh.raw', 'done', 120_000);
    expect((await jobsOf(p.db, f.id))[0]!.log_tail).toContain('processed e_ssh.raw');
  });
});
