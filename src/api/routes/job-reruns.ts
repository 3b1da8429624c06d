/**
 * Processing re-runs (issue #21 item 5; docs/processing.md): processing settings at their current
 * version run again over past files. List (viewer); preview, start, cancel (operator).
 */
import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import { cancelProcessingRerun, previewProcessingRerun, startProcessingRerun } from '../../process/reruns.ts';
import { getProcessingRerun, listProcessingReruns } from '../../process/reruns-repo.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { idFilter, isoDate } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { requireVisibleProject } from '../visibility.ts';

const rowId = z.string().regex(/^[1-9]\d{0,17}$/, 'expected a row id (a whole number)');

/** A refusal of the re-run's own checks (`field: message`) as a 400 naming its field. */
async function asInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const m = err instanceof UsageError ? /^(settings|instrument): (.*)$/s.exec(err.message) : null;
    if (m) throw badInput(m[1]!, m[2]!, (err as UsageError).hint);
    throw err;
  }
}

export const jobRerunRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/jobs/reruns',
    role: 'viewer',
    tag: 'processing',
    summary: 'processing re-runs, newest first, with their progress and unfinished jobs',
    handle: async (c, { deps }) => c.json(await listProcessingReruns(deps.db, 100)),
  }),
  route({
    method: 'POST',
    path: '/api/jobs/reruns',
    role: 'operator',
    tag: 'processing',
    summary:
      'run processing settings at their current version over past files (settings or current; dry_run: only count)',
    body: z.strictObject({
      settings: z.string().min(1).max(200).optional(),
      current: z.boolean({ message: 'expected true or false' }).optional(),
      since: isoDate.optional(),
      instrument: idFilter.optional(),
      project: idFilter.optional(),
      dry_run: z.boolean({ message: 'expected true or false' }).optional(),
    }),
    handle: async (c, { body, principal, actor, deps }) => {
      // a project hidden from the caller is answered as one that does not exist: its files are not
      // counted nor processed again at an outsider's request
      if (body.project !== undefined) await requireVisibleProject(deps.db, body.project, principal);
      const opts = {
        settings: body.settings,
        current: body.current,
        since: body.since,
        instrument: body.instrument,
        project: body.project,
      };
      if (body.dry_run)
        return c.json(await asInput(() => previewProcessingRerun(deps.db, deps.config, opts)));
      return c.json(await asInput(() => startProcessingRerun(deps.db, deps.config, { ...opts, actor })), 201);
    },
  }),
  route({
    method: 'POST',
    path: '/api/jobs/reruns/:id/cancel',
    role: 'operator',
    tag: 'processing',
    summary: 'cancel a running processing re-run (no more jobs; jobs created so far run on)',
    params: z.strictObject({ id: rowId }),
    handle: async (c, { params, actor, deps }) => {
      const rerun = await getProcessingRerun(deps.db, params.id);
      if (!rerun) throw notFound('processing re-run', params.id, 'list them with GET /api/jobs/reruns');
      if (rerun.status !== 'running')
        throw conflict(`processing re-run ${params.id} is ${rerun.status} already`);
      return c.json(await cancelProcessingRerun(deps.db, params.id, actor));
    },
  }),
];
