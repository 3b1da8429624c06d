/**
 * Archives on long-term storage (issue #20): the list with filters and paging, one archive with its
 * members (the manifest as recorded: file, member path, size, sha256, offset; members of files in
 * projects hidden from the caller left out), one file's archive
 * state per target with its members and retrievals (the file page; a file of a project hidden from the
 * caller is a 404), and the policy pass run now
 * (what `sluice archive run` does; operator). Viewers may read.
 */
import { z } from 'zod';
import { archivePass } from '../../archive/pass.ts';
import { getArchive, itemCounts, membersOf } from '../../archive/repo.ts';
import { listRetrievals } from '../../archive/retrieve-repo.ts';
import { ARCHIVE_STATES, fileArchives, pageArchives } from '../../archive/views.ts';
import { requireFile } from '../../files/repo.ts';
import { conflict, notFound, refusals } from '../errors.ts';
import { fileId, idFilter, intParam } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor, withoutHidden } from '../visibility.ts';

const archiveId = z
  .string()
  .regex(/^[1-9][0-9]{0,17}$/, 'an archive id is a positive whole number')
  .meta({ description: 'an archive row id (`id` in GET /api/archives)' });

export const archiveRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/archives',
    role: 'viewer',
    tag: 'archives',
    summary:
      "archives, newest first (filter by target, state, project; page with `before` = the previous answer's `next`), and items per target and state",
    query: z.strictObject({
      target: idFilter.optional(),
      state: z.enum(ARCHIVE_STATES, { message: `expected one of ${ARCHIVE_STATES.join(', ')}` }).optional(),
      project: idFilter.optional(),
      before: archiveId.optional(),
      limit: intParam(1, 1000).optional(),
    }),
    handle: async (c, { query, deps }) => {
      const page = await pageArchives(deps.db, { ...query, limit: query.limit ?? 50 });
      return c.json({ ...page, items: await itemCounts(deps.db) });
    },
  }),
  route({
    method: 'GET',
    path: '/api/archives/:id',
    role: 'viewer',
    tag: 'archives',
    summary:
      'one archive: state, target, key and location, bytes, written and verified times, fixity, when a corrupt tar was removed (`tar_removed_at`), and every member (file id, member path, kind raw|output|metrics, job of an output, size, sha256, offsets)',
    params: z.strictObject({ id: archiveId }),
    handle: async (c, { params, principal, deps }) => {
      const archive = await getArchive(deps.db, params.id);
      if (!archive) throw notFound('archive', params.id, 'list archives with GET /api/archives');
      // members of files in projects hidden from the caller (catalog.project_visibility) are left out
      const hidden = await hiddenFor(deps.db, principal);
      const members = await withoutHidden(
        deps.db,
        await membersOf(deps.db, params.id),
        (m) => m.file_id,
        hidden,
      );
      return c.json({ archive, members });
    },
  }),
  route({
    method: 'POST',
    path: '/api/archives/run',
    role: 'operator',
    tag: 'archives',
    summary:
      'run the archive policy pass now (as `sluice archive run`): add due items, start a pack task for every target with work',
    handle: async (c, { deps }) => {
      if (deps.config.archive.targets.length === 0)
        throw conflict(
          'no archive targets configured',
          'add archive.targets and archive.policies to the config',
        );
      const added = await deps.db.tx((tx) => archivePass(tx, deps.config));
      return c.json({ added }, 202);
    },
  }),
  route({
    method: 'GET',
    path: '/api/files/:id/archives',
    role: 'viewer',
    tag: 'archives',
    summary:
      "one file's archive state: its item per archive target, the archives holding it with its members, and its retrievals",
    params: z.strictObject({ id: fileId }),
    handle: async (c, { params, principal, deps }) => {
      const file = await refusals('id', () => requireFile(deps.db, params.id), /^no file/);
      // a file of a project hidden from the caller (catalog.project_visibility) is not there for them
      if ((await hiddenFor(deps.db, principal)).includes(file.project_id))
        throw notFound('file', params.id, 'list files with GET /api/files');
      const archives = await fileArchives(deps.db, params.id);
      const retrievals = await listRetrievals(deps.db, { file: params.id, limit: 20 });
      return c.json({ ...archives, retrievals });
    },
  }),
];
