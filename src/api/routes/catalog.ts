/**
 * The catalog's API (issue #22): projects and members, samples (list, detail, import, links), the
 * relations graph, data sets and search. Every read leaves out the projects the caller may not see
 * (`catalog.project_visibility`, members); admins see all.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import {
  addToDataset,
  createDataset,
  datasetContents,
  listDatasets,
  requireDataset,
} from '../../catalog/datasets.ts';
import { sampleDetail } from '../../catalog/detail.ts';
import { exportDataset } from '../../catalog/export.ts';
import { importSamples } from '../../catalog/import.ts';
import { linkByHand } from '../../catalog/links.ts';
import { addMember, addProject, listProjects } from '../../catalog/projects.ts';
import { NODE_KINDS, walk, withoutHiddenFiles } from '../../catalog/relations.ts';
import { relink } from '../../catalog/relink.ts';
import { listSamples } from '../../catalog/samples.ts';
import { SEARCH_KINDS, search } from '../../catalog/search.ts';
import { refusals } from '../errors.ts';
import { intParam } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor, requireVisibleProject, viewerOf } from '../visibility.ts';

const text = (what: string) => z.string({ error: what }).min(1, { error: what }).max(200);

const projectRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/projects',
    role: 'viewer',
    tag: 'catalog',
    summary: 'projects the caller may see, with visibility and members',
    handle: async (c, { principal, deps }) => {
      const hidden = new Set(await hiddenFor(deps.db, principal));
      return c.json((await listProjects(deps.db)).filter((p) => !hidden.has(p.id)));
    },
  }),
  route({
    method: 'POST',
    path: '/api/projects',
    role: 'admin',
    tag: 'catalog',
    summary: 'add a project that is not in the config',
    success: 201,
    body: z.strictObject({
      id: text('a project id'),
      name: text('a display name').optional(),
      visibility: z.enum(['all', 'members']).optional(),
    }),
    handle: async (c, { body, actor, deps }) => {
      await refusals('id', () => deps.db.tx((tx) => addProject(tx, body, actor)));
      return c.json({ id: body.id }, 201);
    },
  }),
  route({
    method: 'POST',
    path: '/api/projects/:id/members',
    role: 'admin',
    tag: 'catalog',
    summary: 'add a member (a user name) to a project',
    params: z.strictObject({ id: text('a project id') }),
    body: z.strictObject({ user: text('a user name') }),
    handle: async (c, { params, body, actor, deps }) => {
      await refusals(
        'user',
        () => deps.db.tx((tx) => addMember(tx, params.id, body.user, actor)),
        /^no project/,
      );
      return c.json({ project: params.id, user: body.user });
    },
  }),
];

const sampleRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/samples',
    role: 'viewer',
    tag: 'catalog',
    summary: 'samples in refcode order (page with `after`)',
    query: z.strictObject({
      project: text('a project id').optional(),
      type: text('a sample type').optional(),
      after: text('a refcode').optional(),
      limit: intParam(1, 1000, 'a number of samples').optional(),
    }),
    handle: async (c, { query, principal, deps }) => {
      const hidden = await hiddenFor(deps.db, principal);
      return c.json(await listSamples(deps.db, { ...query, hidden, limit: query.limit ?? 100 }));
    },
  }),
  route({
    method: 'GET',
    path: '/api/samples/:refcode',
    role: 'viewer',
    tag: 'catalog',
    summary: 'a sample with the raw data that measured it (jobs, metrics), its relations and history',
    params: z.strictObject({ refcode: text('a refcode') }),
    handle: async (c, { params, principal, deps }) =>
      c.json(await sampleDetail(deps.db, params.refcode, await hiddenFor(deps.db, principal))),
  }),
  route({
    method: 'POST',
    path: '/api/samples/import',
    role: 'operator',
    tag: 'catalog',
    summary:
      'import a CSV or XLSX sheet (base64, within the 64 KiB body limit; larger sheets: `sluice samples import`)',
    body: z.strictObject({
      format: z.enum(['csv', 'xlsx']),
      content_base64: z.string().min(1),
      sheet: text('a worksheet name').optional(),
      dry_run: z.boolean().optional(),
      skip_rejected: z.boolean().optional(),
    }),
    handle: async (c, { body, principal, actor, deps }) => {
      const r = await refusals('content_base64', () =>
        importSamples(deps.db, deps.config.catalog, Buffer.from(body.content_base64, 'base64'), {
          format: body.format,
          sheetName: body.sheet,
          dryRun: body.dry_run,
          skipRejected: body.skip_rejected,
          actor,
          viewer: viewerOf(principal),
        }),
      );
      // files acquired before these samples existed (a crash here: `sluice samples relink` finds them)
      const linked = r.written
        ? await relink(deps.db, deps.config.catalog, { refcodes: r.created.map((x) => x.refcode) })
        : 0;
      return c.json({ ...r, linked });
    },
  }),
  route({
    method: 'POST',
    path: '/api/samples/relink',
    role: 'operator',
    tag: 'catalog',
    summary: 'link files acquired before their sample existed, by `catalog.link_patterns`; the count added',
    body: z.strictObject({ project: text('a project id').optional() }),
    handle: async (c, { body, principal, deps }) => {
      const project = body.project;
      if (project !== undefined) await requireVisibleProject(deps.db, project, principal);
      return c.json({ linked: await relink(deps.db, deps.config.catalog, { project }) });
    },
  }),
  route({
    method: 'POST',
    path: '/api/samples/:refcode/links',
    role: 'operator',
    tag: 'catalog',
    summary: 'link a raw data file to a sample by hand',
    params: z.strictObject({ refcode: text('a refcode') }),
    body: z.strictObject({ file: text('a file id') }),
    handle: async (c, { params, body, principal, actor, deps }) => {
      const hidden = await hiddenFor(deps.db, principal);
      const added = await refusals(
        'file',
        () => deps.db.tx((tx) => linkByHand(tx, body.file, params.refcode, actor, hidden)),
        // a file or sample of a project hidden from the caller is answered as one that does not exist
        /^no (sample|file)/,
      );
      return c.json({ added });
    },
  }),
  route({
    method: 'GET',
    path: '/api/graph',
    role: 'viewer',
    tag: 'catalog',
    summary: 'the relations around a node (file, sample, dataset), up to `depth` hops',
    query: z.strictObject({
      kind: z.enum(NODE_KINDS),
      id: text('a node id'),
      depth: intParam(1, 5, 'a number of hops').optional(),
    }),
    handle: async (c, { query, principal, deps }) => {
      // a walk from a hidden sample shows nothing; edges into hidden projects' samples and files are left out
      const hidden = await hiddenFor(deps.db, principal);
      const edges = await withoutHiddenFiles(
        deps.db,
        await walk(deps.db, query.kind, query.id, query.depth ?? 2),
        hidden,
      );
      if (hidden.length === 0) return c.json(edges);
      const refcodes = edges.flatMap((e) => [
        e.subject_kind === 'sample' ? e.subject_id : '',
        e.object_kind === 'sample' ? e.object_id : '',
      ]);
      const visible = new Set((await listSamples(deps.db, { hidden, limit: 100_000 })).map((s) => s.refcode));
      const hiddenSample = (k: string, id: string) =>
        k === 'sample' && refcodes.includes(id) && !visible.has(id);
      return c.json(
        edges.filter(
          (e) => !hiddenSample(e.subject_kind, e.subject_id) && !hiddenSample(e.object_kind, e.object_id),
        ),
      );
    },
  }),
];

const datasetRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/datasets',
    role: 'viewer',
    tag: 'catalog',
    summary: 'data sets',
    handle: async (c, { principal, deps }) =>
      c.json(await listDatasets(deps.db, await hiddenFor(deps.db, principal))),
  }),
  route({
    method: 'POST',
    path: '/api/datasets',
    role: 'operator',
    tag: 'catalog',
    summary: 'create a data set',
    success: 201,
    body: z.strictObject({
      name: text('a name'),
      description: z.string().max(4000).optional(),
      project: text('a project id').optional(),
    }),
    handle: async (c, { body, principal, actor, deps }) => {
      if (body.project !== undefined) await requireVisibleProject(deps.db, body.project, principal);
      return c.json(
        await refusals(
          (m) => (/project/.test(m) ? 'project' : 'name'),
          () => deps.db.tx((tx) => createDataset(tx, body, actor)),
        ),
        201,
      );
    },
  }),
  route({
    method: 'GET',
    path: '/api/datasets/:name',
    role: 'viewer',
    tag: 'catalog',
    summary: 'a data set: its samples and raw data',
    params: z.strictObject({ name: text('a data set name') }),
    handle: async (c, { params, principal, deps }) => {
      const hidden = await hiddenFor(deps.db, principal);
      const d = await datasetContents(deps.db, await requireDataset(deps.db, params.name, hidden), hidden);
      return c.json({ ...d, measured: Object.fromEntries(d.measured) });
    },
  }),
  route({
    method: 'GET',
    path: '/api/datasets/:name/export',
    role: 'viewer',
    tag: 'catalog',
    summary:
      'a data set as an RO-Crate: a zip with its files (read from verified backups), or the metadata alone',
    params: z.strictObject({ name: text('a data set name') }),
    query: z.strictObject({ format: z.enum(['zip', 'metadata']).optional() }),
    handle: async (c, { params, query, principal, deps }) => {
      const hidden = await hiddenFor(deps.db, principal);
      const d = await datasetContents(deps.db, await requireDataset(deps.db, params.name, hidden), hidden);
      const format = query.format ?? 'zip';
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-export-'));
      const out = path.join(dir, format === 'zip' ? `${params.name}.zip` : 'ro-crate-metadata.json');
      const cleanUp = () => rm(dir, { recursive: true, force: true });
      try {
        await exportDataset(deps.db, d, out, format);
      } catch (err) {
        await cleanUp();
        throw err;
      }
      // streamed from the temp file (a data set's zip can be larger than the server's memory); the
      // temp folder goes once the answer is sent or the client went away
      c.header('content-type', format === 'zip' ? 'application/zip' : 'application/json');
      c.header('content-disposition', `attachment; filename="${path.basename(out)}"`);
      c.header('content-length', String((await stat(out)).size));
      return stream(
        c,
        async (s) => {
          try {
            for await (const chunk of createReadStream(out, { highWaterMark: 1 << 20 })) {
              if (s.aborted) break;
              await s.write(chunk as Uint8Array);
            }
          } finally {
            await cleanUp();
          }
        },
        async (err) => {
          await cleanUp();
          deps.log?.error({ err, dataset: params.name }, 'data set export failed part way');
        },
      );
    },
  }),
  route({
    method: 'POST',
    path: '/api/datasets/:name/members',
    role: 'operator',
    tag: 'catalog',
    summary: 'add samples and raw data files to a data set',
    params: z.strictObject({ name: text('a data set name') }),
    body: z.strictObject({
      samples: z.array(text('a refcode')).max(10_000).optional(),
      files: z.array(text('a file id')).max(10_000).optional(),
    }),
    handle: async (c, { params, body, principal, actor, deps }) => {
      const hidden = await hiddenFor(deps.db, principal);
      const added = await refusals(
        (m) => (/sample/.test(m) ? 'samples' : 'files'),
        () =>
          deps.db.tx(async (tx) =>
            addToDataset(tx, await requireDataset(tx, params.name, hidden), body, actor, hidden),
          ),
        // members of a project hidden from the caller are answered as ones that do not exist
        /^no data set|^not found:/,
      );
      return c.json({ added });
    },
  }),
  route({
    method: 'GET',
    path: '/api/search',
    role: 'viewer',
    tag: 'catalog',
    summary: 'search sample refcodes, names and attributes, file names and projects',
    query: z.strictObject({
      q: text('a search term'),
      project: text('a project id').optional(),
      kinds: z.string().optional(),
      limit: intParam(1, 200, 'a number of results').optional(),
    }),
    handle: async (c, { query, principal, deps }) => {
      const kinds = (query.kinds?.split(',') ?? []).filter((k): k is (typeof SEARCH_KINDS)[number] =>
        (SEARCH_KINDS as readonly string[]).includes(k),
      );
      return c.json(
        await search(deps.db, query.q, {
          hidden: await hiddenFor(deps.db, principal),
          project: query.project,
          kinds,
          limit: query.limit ?? 20,
        }),
      );
    },
  }),
];

export const catalogRoutes: AnyRoute[] = [...projectRoutes, ...sampleRoutes, ...datasetRoutes];
