/**
 * Retrievals of archived sets (issue #20): list requests with their fetch's state (viewer; requests
 * for files of projects hidden from the caller left out), ask for
 * sets back (operator; src/archive/retrieve.ts records the request, the workers restore, download
 * and verify; a named file or project hidden from the caller is a 404, as one that does not exist). Requests for sets in one archive share its one restore and download.
 */
import { z } from 'zod';
import { requestRetrieval } from '../../archive/retrieve.ts';
import { listRetrievals, type RetrievalRow } from '../../archive/retrieve-repo.ts';
import { FETCH_STATES } from '../../archive/retrieve-rules.ts';
import { apiRefusal, notFound } from '../errors.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor, requireVisibleProject, withoutHidden } from '../visibility.ts';

const withSetPath = (r: RetrievalRow) => ({ ...r, set_path: r.path ? `${r.path}/${r.prefix}` : null });

export const retrievalRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/retrievals',
    role: 'viewer',
    tag: 'retrievals',
    summary:
      'retrieval requests, newest first, with their state (requested, restoring, downloading, verified, failed, expired)',
    query: z.strictObject({
      state: z.enum(FETCH_STATES, { message: `expected one of ${FETCH_STATES.join(', ')}` }).optional(),
      file: z.string().min(1).optional(),
      limit: z.coerce.number().int().min(1).max(10_000).default(100),
    }),
    handle: async (c, { query, principal, deps }) => {
      const rows = await listRetrievals(deps.db, {
        states: query.state ? [query.state] : undefined,
        file: query.file,
        limit: query.limit,
      });
      // requests for files in projects hidden from the caller (catalog.project_visibility) are left out
      const visible = await withoutHidden(
        deps.db,
        rows,
        (r) => r.file_id,
        await hiddenFor(deps.db, principal),
      );
      return c.json(visible.map(withSetPath));
    },
  }),
  route({
    method: 'POST',
    path: '/api/retrievals',
    role: 'operator',
    tag: 'retrievals',
    summary: 'retrieve archived sets (by file ids, or a project and/or a date) into the retrieval area',
    body: z
      .strictObject({
        files: z.array(z.string().min(1)).max(10_000).optional(),
        project: z.string().min(1).optional(),
        since: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time' }).optional(),
        target: z.string().min(1).optional(),
      })
      .refine((b) => (b.files?.length ?? 0) > 0 || b.project || b.since, {
        message: 'name files, or a project and/or since',
      }),
    handle: async (c, { body, principal, actor, deps }) => {
      // a file or project hidden from the caller (catalog.project_visibility) is answered as one that
      // does not exist, before anything is recorded
      const hidden =
        body.project !== undefined
          ? await requireVisibleProject(deps.db, body.project, principal)
          : await hiddenFor(deps.db, principal);
      const visible = await withoutHidden(deps.db, body.files ?? [], (f) => f, hidden);
      const unseen = (body.files ?? []).find((f) => !visible.includes(f));
      if (unseen !== undefined) throw notFound('file', unseen, 'list files with `sluice files list`');
      const r = await requestRetrieval(deps.db, deps.config, {
        files: body.files,
        project: body.project,
        since: body.since ? new Date(body.since) : undefined,
        target: body.target,
        by: actor,
        hidden,
      }).catch((err: unknown) => {
        // written for the CLI: a wrong target or file names the field; nothing archived to bring back is a conflict
        throw apiRefusal(err, (m) => (/target/.test(m) ? 'target' : undefined), /^no file/);
      });
      return c.json({ retrievals: r.retrievals.map(withSetPath), not_archived: r.notArchived }, 202);
    },
  }),
];
