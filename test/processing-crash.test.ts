/**
 * Processing survives a killed worker with no manual step (issue 16, item 2): real `sluice start`
 * workers killed with SIGKILL at named crash points of the submit step (SLUICE_CRASH_AT, see
 * src/core/crash.ts) and while a local job runs, with output_exists_mode `raise` and a 300 s lease.
 * The output folder an earlier attempt created is reused, never "already exists"; a local job
 * started by a killed worker is adopted by the next one, never started twice.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { listEvents } from '../src/engine/events.ts';
import { statusSnapshot } from '../src/engine/status.ts';
import { getFile } from '../src/files/repo.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { SLUICE_BIN, sluice } from './helpers/cli.ts';
import { DEMO_RESOURCES, KNOWN_NO_PRECURSORS, qcProcessing } from './helpers/config-text.ts';
import { createTestDb } from './helpers/db.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

type Proc = Awaited<ReturnType<typeof spawnTs>>;

describe('processing with workers killed mid-submit and mid-job', () => {
  let root: string;
  let db: Db;
  let url: string;
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  const procs: Proc[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-proc-crash-'));
    ({ db, url, drop } = await createTestDb());
    for (const d of ['astral1', 'backup', 'output']) await mkdir(path.join(root, d));
    // Each job notes its start and end in the output folder: two jobs writing the same folder at
    // once would show as two starts in a row.
    await writeFile(
      path.join(root, 'sluice.yaml'),
      `data_dir: ./data
worker: { lease_seconds: 300, heartbeat_seconds: 1, poll_seconds: 0.5 }
backup: { path: ./backup }
projects: { PRJ: { tokens: [prj] } }
instruments:
  astral1:
    type: thermo
    watch: ./astral1
    scan_interval_seconds: 0.5
    acquisition: { stable_window_seconds: 0.5 }
${qcProcessing({
  head: ['output_path: ./output', 'poll_seconds: 0.5'],
  software: 'demo',
  qc: [DEMO_RESOURCES, KNOWN_NO_PRECURSORS],
  template: `echo "start $$" >> {{output_dir}}/runs.txt
sleep 3
echo "end $$" >> {{output_dir}}/runs.txt
case {{raw_name}} in
  *failknown*) echo "no precursors found" >&2; exit 3 ;;
esac
echo "processed {{raw_name}}" > {{output_dir}}/result.txt`,
})}
  assignments:
    - { settings: qc, projects: ['*'] }
`,
    );
    env = { DATABASE_URL: url, SLUICE_CONFIG: path.join(root, 'sluice.yaml'), SLUICE_LOG_LEVEL: 'warn' };
  });

  afterAll(async () => {
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await waitExit(p);
      }
    }
    await drop();
    await rm(root, { recursive: true, force: true });
  });

  const worker = async (crashAt?: string) => {
    const p = await spawnTs(SLUICE_BIN, crashAt ? { ...env, SLUICE_CRASH_AT: crashAt } : env, {
      ready: 'running',
      args: ['start', '--role', 'worker'],
    });
    procs.push(p);
    return p;
  };
  const timeline = async (id: string) =>
    (await listEvents(db, 'file', id)).map(
      (e) => `${e.from_state ?? ''}→${e.to_state ?? ''}: ${e.reason ?? ''}`,
    );
  const final = (id: string) =>
    waitFor(
      `${id} final`,
      async () => {
        const f = await getFile(db, id);
        return f && ['done', 'processing_failed', 'error'].includes(f.status) ? f : undefined;
      },
      240_000,
      200,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${(await timeline(id)).join('\n')}`);
    });
  const runsOf = async (id: string) => {
    const [job] = await jobsOf(db, id);
    return (await readFile(path.join(job!.output_dir, 'runs.txt'), 'utf8')).trim().split('\n');
  };

  it('killed after creating the output folder, then right after starting the job: the job is adopted and the file ends done', async () => {
    // the first worker dies while filling the folder, the second as soon as the folder exists, the
    // third as soon as the job runs
    const w0 = await worker('process.submit.output_partial');
    await writeFile(path.join(root, 'astral1', 'prj_c1.raw'), 'raw data c1');
    await waitExit(w0);
    const w1 = await worker('process.submit.after_mkdir');
    await Promise.race([
      waitExit(w1),
      final('prj_c1.raw').then(async (f) => {
        throw new Error(`prj_c1.raw ended ${f.status}:\n${(await timeline(f.id)).join('\n')}`);
      }),
    ]);
    const w2 = await worker('process.submit.after_spawn');
    // w2 dies once it has started the job; the file must not end before that
    await Promise.race([
      waitExit(w2),
      final('prj_c1.raw').then(async (f) => {
        throw new Error(
          `prj_c1.raw ended ${f.status} before a job started:\n${(await timeline(f.id)).join('\n')}`,
        );
      }),
    ]);
    await worker();
    const f = await final('prj_c1.raw');
    const lines = (await timeline('prj_c1.raw')).join('\n');
    expect(f.status, lines).toBe('done');
    expect(lines).not.toMatch(/already exists/);
    // taken over at once (the lease is 300 s), and the killed attempts are in the timeline
    expect(lines).toMatch(/attempt 1 on \S+ was cut short \(its worker died: process \d+ on \S+ is gone/);
    expect(lines).toMatch(/attempt 2 on \S+ was cut short \(its worker died/);
    expect(lines).toMatch(/attempt 3 on \S+ was cut short \(its worker died/);
    expect(lines).toMatch(
      /was created for job \S+ by attempt 2 of task \d+ .*; no job had started in it: used again/,
    );
    // one job, started once, by the second worker, adopted by the third
    const jobs = await jobsOf(db, 'prj_c1.raw');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ state: 'COMPLETED', outcome: 'success' });
    expect(lines).toMatch(/not submitted again/);
    const runs = await runsOf('prj_c1.raw');
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/^start /);
    expect(runs[1]).toMatch(/^end /);
    // nothing left of the folder the first worker was filling
    const parent = path.dirname(jobs[0]!.output_dir);
    expect((await readdir(parent)).filter((e) => e.includes('.sluice-new-'))).toEqual([]);
    // the killed workers show as dead in status
    const snap = await statusSnapshot(db, 60_000);
    const dead = snap.processes.filter((p) => p.dead_at);
    expect(dead.map((p) => p.pid).sort()).toEqual([w0.pid, w1.pid, w2.pid].sort());
    const shown = await sluice(['status'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    for (const w of [w0, w1, w2])
      expect(shown.stdout).toMatch(
        new RegExp(`DEAD \\(found .*: process ${w.pid} on \\S+ is gone; found by`),
      );
  });

  it('killed while a failing job runs: the next worker follows the job to its end, processing_failed', async () => {
    const alive = procs.find((p) => p.exitCode === null && p.signalCode === null)!;
    await writeFile(path.join(root, 'astral1', 'prj_c2_failknown.raw'), 'raw data c2');
    await waitFor(
      'the job running',
      async () => (await jobsOf(db, 'prj_c2_failknown.raw'))[0]?.state === 'RUNNING',
      120_000,
      100,
    );
    alive.kill('SIGKILL');
    await waitExit(alive);
    await worker();
    const f = await final('prj_c2_failknown.raw');
    expect(f.status, (await timeline(f.id)).join('\n')).toBe('processing_failed');
    expect(f.status_reason).toContain('no identifiable peptides');
    const runs = await runsOf(f.id);
    expect(runs).toHaveLength(2);
    expect(await jobsOf(db, f.id)).toHaveLength(1);
  });
});
