/**
 * Operator actions: retry, ignore, accept an overwrite, cancel jobs. The same functions as the CLI;
 * the actor is `user:<name>` or `token:<user>/<token>`. An unknown id is a 404, and so is a file (or
 * a job of a file) of a project hidden from the caller (`catalog.project_visibility`); an action the
 * file's current state does not allow is a 409 with the reason.
 */
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { UsageError } from '../../core/errors.ts';
import { OUTPUT_EXISTS_MODES } from '../../core/variables.ts';
import { getFile } from '../../files/repo.ts';
import { acceptOverwrite, ignoreFile, retryFile } from '../../pipeline/actions.ts';
import { cancelJobs } from '../../process/actions.ts';
import { ACTIVE_STATES, getJob } from '../../process/jobs.ts';
import type { ApiDeps } from '../deps.ts';
import { conflict, notFound } from '../errors.ts';
import { fileId, jobId } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor } from '../visibility.ts';

const fileParams = z.strictObject({ id: fileId });

/** Whether the file exists and its project is not hidden from the caller. */
async function visibleFile(deps: ApiDeps, id: string, principal: Principal | undefined): Promise<boolean> {
  const f = await getFile(deps.db, id);
  return f !== undefined && !(await hiddenFor(deps.db, principal)).includes(f.project_id);
}

/** Runs an action on a file the caller may see; a refusal from the domain (a state conflict) becomes a 409. */
async function onFile(
  deps: ApiDeps,
  id: string,
  principal: Principal | undefined,
  act: () => Promise<unknown>,
) {
  if (!(await visibleFile(deps, id, principal))) throw notFound('file', id, 'list files with GET /api/files');
  try {
    await act();
  } catch (err) {
    if (err instanceof UsageError) throw conflict(err.message, err.hint);
    throw err;
  }
  const f = await getFile(deps.db, id);
  return { id, status: f?.status, status_reason: f?.status_reason };
}

export const actionRoutes: AnyRoute[] = [
  route({
    method: 'POST',
    path: '/api/files/:id/retry',
    role: 'operator',
    tag: 'actions',
    summary: 'run a finished or failed file again (from its verified backup when there is one)',
    params: fileParams,
    body: z
      .strictObject({
        // overrides the variable output_exists_mode for the jobs this retry plans
        output_exists: z.enum(OUTPUT_EXISTS_MODES).optional(),
      })
      .optional(),
    handle: async (c, { params, body, actor, principal, deps }) =>
      c.json(
        await onFile(deps, params.id, principal, () =>
          retryFile(deps.db, deps.config, params.id, actor, { outputExists: body?.output_exists }),
        ),
      ),
  }),
  route({
    method: 'POST',
    path: '/api/files/:id/ignore',
    role: 'operator',
    tag: 'actions',
    summary: 'stop all work on a file and mark it ignored',
    params: fileParams,
    body: z.strictObject({ reason: z.string().max(500).optional() }).optional(),
    handle: async (c, { params, body, actor, principal, deps }) =>
      c.json(
        await onFile(deps, params.id, principal, () => ignoreFile(deps.db, params.id, actor, body?.reason)),
      ),
  }),
  route({
    method: 'POST',
    path: '/api/files/:id/accept-overwrite',
    role: 'operator',
    tag: 'actions',
    summary: 'replace a differing backup (the old one is kept renamed) and back up again',
    params: fileParams,
    handle: async (c, { params, actor, principal, deps }) =>
      c.json(
        await onFile(deps, params.id, principal, () =>
          acceptOverwrite(deps.db, deps.config, params.id, actor),
        ),
      ),
  }),
  route({
    method: 'POST',
    path: '/api/jobs/:id/cancel',
    role: 'operator',
    tag: 'actions',
    summary: 'cancel an active processing job (at the scheduler if already submitted)',
    params: z.strictObject({ id: jobId }),
    handle: async (c, { params, actor, principal, deps }) => {
      const job = await getJob(deps.db, params.id);
      if (!job || !(await visibleFile(deps, job.file_id, principal)))
        throw notFound('job', params.id, 'job ids are listed in GET /api/files/{id}');
      if (!ACTIVE_STATES.includes(job.state))
        throw conflict(`job ${params.id} is ${job.state}: it has finished`);
      try {
        const jobs = await cancelJobs(deps.db, deps.config, params.id, actor);
        return c.json({
          cancelled: jobs.filter((j) => j.id === params.id).map((j) => ({ id: j.id, file_id: j.file_id })),
        });
      } catch (err) {
        if (err instanceof UsageError) throw conflict(err.message, err.hint);
        throw err;
      }
    },
  }),
];
