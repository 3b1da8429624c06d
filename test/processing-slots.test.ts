/**
 * A freed cluster slot is used at once: the poll that records a job's end wakes the oldest
 * `process.submit` waiting for a slot in the same transaction, instead of that submit looking again
 * only after its fallback wait (a poll period). Local executor, real processes, real PostgreSQL;
 * the periodic poll is 60 s apart, so the polls that matter here are the ones the test enqueues.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FILES } from '../src/process/executors/wrapper.ts';
import { enqueueTask, Kind } from '../src/tasks/catalogue.ts';
import { instrumentYaml } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const config = (root: string) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
pools: { cluster: 1 }
projects: { PRJ: { tokens: [prj] } }
instruments:
${instrumentYaml(root)}
processing:
  executor: local
  poll_seconds: 60
  environment: "true"
  settings:
    qc:
      version: 1
      software: demo
      software_version: "1.0"
      template: |
        {{env}}
        sleep 0.2
  assignments:
    - settings: qc
      projects: ['*']
`;

const NAMES = ['prj_s1.raw', 'prj_s2.raw', 'prj_s3.raw', 'prj_s4.raw'];

interface JobState {
  id: string;
  state: string;
  output_dir: string;
}

/** The ids of the submit tasks waiting (queued, to run later), oldest first. */
async function waitingSubmits(pl: Pipeline): Promise<string[]> {
  const rows = await pl.db.query<{ id: string }>(
    `select id from tasks where kind = $1 and state = 'queued' and run_after > now() order by id`,
    [Kind.processSubmit],
  );
  return rows.map((r) => r.id);
}

describe('cluster slots', () => {
  it('a poll that records a job ending wakes the oldest submit waiting for a slot, at once', async () => {
    p = await createPipeline(config);
    const pl = p;
    for (const n of NAMES) await writeFile(path.join(pl.root, 'astral1', n), `data ${n}`);
    await pl.start();
    for (let done = 0; done < NAMES.length; done++) {
      // one job runs to its end; every job not yet submitted has looked for a slot and waits
      const running = await waitFor(
        'the running job to end while the others wait for its slot',
        async () => {
          const jobs = await pl.db.query<JobState>('select id, state, output_dir from jobs order by id');
          if (jobs.length < NAMES.length) return undefined;
          const active = jobs.filter((j) => ['PENDING', 'RUNNING'].includes(j.state));
          const waiting = await waitingSubmits(pl);
          const ended = active.length === 1 && existsSync(path.join(active[0]!.output_dir, FILES.exit));
          return ended && waiting.length === NAMES.length - 1 - done ? active[0] : undefined;
        },
        60_000,
        50,
      );
      const before = await waitingSubmits(pl);
      await enqueueTask(pl.db, Kind.processPoll, Kind.processPoll, {});
      await waitFor(
        'the poll to record the job',
        async () => {
          const j = await pl.db.maybeOne<JobState>('select id, state, output_dir from jobs where id = $1', [
            running.id,
          ]);
          return j && !['PENDING', 'RUNNING'].includes(j.state) ? j : undefined;
        },
        60_000,
        50,
      );
      // the oldest waiting submit was made runnable in the poll's transaction; the others still wait
      const after = await waitingSubmits(pl);
      expect(after).toEqual(before.slice(1));
    }
    const jobs = await pl.db.query<{ state: string; submitted_at: Date; finished_at: Date }>(
      'select state, submitted_at, finished_at from jobs order by submitted_at',
    );
    expect(jobs.map((j) => j.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (let i = 1; i < jobs.length; i++) {
      expect(jobs[i]!.submitted_at.getTime()).toBeGreaterThanOrEqual(jobs[i - 1]!.finished_at.getTime());
    }
  });
});
