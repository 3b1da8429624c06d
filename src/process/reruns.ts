/**
 * Processing re-runs (`sluice jobs rerun`, issue #21 item 5): processing settings at their current
 * version run again over past files — the bulk re-processing a new software release calls for —
 * through the same mechanism as a unit's re-run (streams/reruns.ts): `previewProcessingRerun`
 * counts the files and jobs; `startProcessingRerun` records the re-run (`processing_reruns`, its
 * settings versions and hashes fixed) and enqueues its `process.rerun` task in one transaction; each
 * step of the task creates the jobs of a batch of files and moves the cursor in one transaction (a
 * crash repeats nothing, loses nothing); `cancelProcessingRerun` stops it before its next batch.
 *
 * The jobs are ordinary jobs (`createJob`): each goes through `process.submit` in the cluster pool
 * and waits for a free cluster slot, so SLURM is never flooded; the re-run itself waits while
 * MAX_ACTIVE of its jobs are unfinished, so the task queue is not flooded either. A job records its
 * settings version and hash; the file's state does not change (its earlier jobs, outputs and metrics
 * stay: a new version writes to a new output folder) and its timeline says a re-run made the job.
 */
import type { Config } from '../core/config/index.ts';
import type { Db, Queryable } from '../core/db/db.ts';
import { errorMessage, UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import {
  type ReprocessScope,
  reprocessCandidates,
  reprocessScopeSize,
} from '../files/reprocess-candidates.ts';
import { defineHandler, enqueueTask, Kind } from '../tasks/catalogue.ts';
import { createJob } from './jobs.ts';
import { chooseRerunSettings, jobsForFile, type RerunChoice, settingsDrift } from './rerun-plan.ts';
import {
  activeRerunJobs,
  advanceProcessingRerun,
  createProcessingRerun,
  finishProcessingRerun,
  getProcessingRerun,
  jobsAlreadyAt,
  type ProcessingRerunRow,
  type RerunSettings,
} from './reruns-repo.ts';
import { settingsDefinition } from './settings.ts';

const ACTOR = 'rerun';
/** Files per step. */
const BATCH = 50;
/** A re-run creates no more jobs while this many of its jobs are unfinished. */
export const MAX_ACTIVE = 100;
/** How long a re-run at MAX_ACTIVE waits before it looks again. */
const WAIT_MS = 2000;

export type ProcessingRerunOptions = RerunChoice & ReprocessScope;

type Chosen = { name: string; version: number }[];

/** The files in scope from `afterId` up to `upTo`, a page at a time, each with the jobs it would get. */
async function* planned(
  q: Queryable,
  config: Config,
  chosen: Chosen,
  scope: ReprocessScope,
  upTo: string,
  afterId = '',
  limit = 1000,
) {
  for (;;) {
    const files = await reprocessCandidates(q, { ...scope, afterId, upTo, limit });
    if (files.length === 0) return;
    const has = await jobsAlreadyAt(
      q,
      files.map((f) => f.id),
      chosen,
    );
    yield files.map((f) => ({ file: f, jobs: jobsForFile(config, chosen, f, has) }));
    if (files.length < limit) return;
    afterId = files.at(-1)!.id;
  }
}

async function count(q: Queryable, config: Config, chosen: Chosen, scope: ReprocessScope) {
  const { last } = await reprocessScopeSize(q, scope);
  let files = 0;
  let jobs = 0;
  for await (const page of planned(q, config, chosen, scope, last)) {
    for (const p of page) {
      if (p.jobs.length > 0) files += 1;
      jobs += p.jobs.length;
    }
  }
  return { files, jobs, last };
}

/** What a re-run would do: the settings versions, and how many files and jobs. */
export async function previewProcessingRerun(db: Db, config: Config, o: ProcessingRerunOptions) {
  const chosen = chooseRerunSettings(config, o);
  const { files, jobs } = await count(db, config, chosen, o);
  return {
    settings: chosen,
    files,
    jobs,
    since: o.since?.toISOString() ?? null,
    instrument: o.instrument ?? null,
    project: o.project ?? null,
  };
}

function checkScope(config: Config, o: ProcessingRerunOptions): void {
  if (o.instrument && !ownEntry(config.instruments, o.instrument))
    throw new UsageError(
      `instrument: unknown instrument '${o.instrument}': expected one of ${Object.keys(config.instruments).join(', ')}`,
    );
}

/** Records a re-run (settings versions and hashes fixed now) and enqueues its task. */
export async function startProcessingRerun(
  db: Db,
  config: Config,
  o: ProcessingRerunOptions & { actor: string },
): Promise<ProcessingRerunRow> {
  checkScope(config, o);
  const chosen = chooseRerunSettings(config, o);
  const settings: RerunSettings[] = [];
  for (const c of chosen)
    settings.push({ ...c, hash: (await settingsDefinition(config.processing.settings[c.name]!)).hash });
  return db.tx(async (tx) => {
    const { files, jobs, last } = await count(tx, config, chosen, o);
    const row = await createProcessingRerun(tx, {
      settings,
      since: o.since ?? null,
      instrument: o.instrument ?? null,
      project: o.project ?? null,
      files,
      total: jobs,
      last_file: last,
      requested_by: o.actor,
    });
    await enqueueTask(tx, Kind.processRerun, row.id, {});
    return row;
  });
}

export async function cancelProcessingRerun(db: Db, id: string, actor: string): Promise<ProcessingRerunRow> {
  const row = await finishProcessingRerun(db, id, 'cancelled', { by: actor });
  if (row) return row;
  const now = await getProcessingRerun(db, id);
  if (!now) throw new UsageError(`no processing re-run ${id}`, 'list them with `sluice jobs reruns`');
  throw new UsageError(
    `processing re-run ${id} is ${now.status} already; only a running one can be cancelled`,
  );
}

const describe = (s: { name: string; version: number }) => `${s.name} v${s.version}`;

export function processingRerunHandler(deps: { config: Config }) {
  return defineHandler(Kind.processRerun, {
    async run(ctx) {
      const rerun = await getProcessingRerun(ctx.db, ctx.task.subject ?? '');
      if (rerun?.status !== 'running') return ctx.complete();
      const drift = settingsDrift(deps.config, rerun.settings);
      if (drift)
        return ctx.complete(
          async (tx) => void (await finishProcessingRerun(tx, rerun.id, 'failed', { error: drift })),
        );
      if ((await activeRerunJobs(ctx.db, rerun.id)) >= MAX_ACTIVE) return ctx.again(WAIT_MS);
      const scope = { since: rerun.since, instrument: rerun.instrument, project: rerun.project };
      const pages = planned(
        ctx.db,
        deps.config,
        rerun.settings,
        scope,
        rerun.last_file,
        rerun.cursor_file,
        BATCH,
      );
      const page = (await pages.next()).value;
      if (!page || page.length === 0)
        return ctx.complete(async (tx) => void (await finishProcessingRerun(tx, rerun.id, 'done')));
      const added = page.reduce((n, p) => n + p.jobs.length, 0);
      await ctx.again(0, async (tx) => {
        // a re-run cancelled meanwhile creates nothing more
        if (!(await advanceProcessingRerun(tx, rerun.id, page.at(-1)!.file.id, added))) return;
        for (const { file, jobs } of page) {
          for (const s of jobs) await createJob(tx, deps.config, file, s, undefined, { rerun: rerun.id });
          if (jobs.length > 0)
            await addToTimeline(
              tx,
              file.id,
              ACTOR,
              `re-processing with ${jobs.map(describe).join(', ')} (re-run ${rerun.id}, requested by ${rerun.requested_by})`,
              { rerun: rerun.id },
            );
        }
      });
      ctx.log.info({ rerun: rerun.id, files: page.length, jobs: added }, 'processing re-run batch');
    },
    async onFailed(tx, task, error) {
      await finishProcessingRerun(tx, task.subject ?? '', 'failed', { error: errorMessage(error) });
    },
  });
}
