/**
 * A freed cluster slot is used at once: a local job's exit asks for a poll, and the poll that
 * records the job's end wakes the oldest `process.submit` waiting for a slot in the same
 * transaction, instead of the next period (60 s here) and that submit's fallback wait. Local
 * executor, real processes, real PostgreSQL.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Kind } from '../src/tasks/catalogue.ts';
import { instrumentYaml, qcProcessing } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

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
${qcProcessing({ head: ['poll_seconds: 60'], software: 'demo', template: '{{env}}\nsleep 0.2' })}
  assignments:
    - settings: qc
      projects: ['*']
`;

const NAMES = ['prj_s1.raw', 'prj_s2.raw', 'prj_s3.raw', 'prj_s4.raw'];

describe('cluster slots', () => {
  it('one slot, four jobs: each next job is submitted as the one before ends, with no periodic poll between', async () => {
    p = await createPipeline(config);
    const pl = p;
    for (const n of NAMES) await writeFile(path.join(pl.root, 'astral1', n), `data ${n}`);
    await pl.start();
    for (const n of NAMES) await pl.waitStatus(n, ['done', 'processing_failed', 'error'], 300_000);
    const jobs = await pl.db.query<{ state: string; submitted_at: Date; finished_at: Date }>(
      'select state, submitted_at, finished_at from jobs order by submitted_at',
    );
    expect(jobs.map((j) => j.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (let i = 1; i < jobs.length; i++) {
      expect(jobs[i]!.submitted_at.getTime()).toBeGreaterThanOrEqual(jobs[i - 1]!.finished_at.getTime());
    }
    // every job's end was recorded by a poll its exit asked for, and the next submit woken by it:
    // the periodic poll (every 60 s) ran only once, at the start (finished, or — when it saw a job
    // active — put back to look again a period later, still queued now)
    const polls = await pl.db.query<{ dedupe_key: string; n: string }>(
      `select dedupe_key, count(*) as n from tasks where kind = $1 and state = 'succeeded' group by dedupe_key`,
      [Kind.processPoll],
    );
    const byKey = Object.fromEntries(polls.map((r) => [r.dedupe_key, Number(r.n)]));
    expect(byKey[`schedule:${Kind.processPoll}`] ?? 0).toBeLessThanOrEqual(1);
    // (`job-exited-again`: a job that exited while the `job-exited` poll was already running)
    expect((byKey['poll:job-exited'] ?? 0) + (byKey['poll:job-exited-again'] ?? 0)).toBeGreaterThanOrEqual(
      NAMES.length,
    );
  });
});
