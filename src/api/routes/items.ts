/**
 * Stream items and units (issue #21; docs/streams.md): items with their results' history and the
 * units with their versions (viewer); compute unit re-runs: preview, start, cancel (operator).
 */
import path from 'node:path';
import { z } from 'zod';
import { ownEntry } from '../../core/own.ts';
import { listUnits } from '../../streams/listing.ts';
import { getRerun, listReactionRuns, listReruns } from '../../streams/reactions-repo.ts';
import { itemWithHistory, listItems } from '../../streams/repo.ts';
import { cancelRerun, previewRerun, startRerun } from '../../streams/reruns.ts';
import type { ApiDeps } from '../deps.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { idFilter, intParam, isoDate } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const rowId = z.string().regex(/^[1-9]\d{0,17}$/, 'expected a row id (a whole number)');
const unitName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,127}$/, 'expected a unit name');
const baseDirOf = (deps: ApiDeps) => deps.baseDir ?? path.resolve('.');

export const itemRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/items',
    role: 'viewer',
    tag: 'streams',
    summary: 'stream items, newest first, with their numbers of results and rejections',
    query: z.strictObject({
      source: idFilter.optional(),
      channel: idFilter.optional(),
      since: isoDate.optional(),
      before: rowId.optional(),
      limit: intParam(1, 1000).optional(),
    }),
    handle: async (c, { query, deps }) =>
      c.json(await listItems(deps.db, { ...query, limit: query.limit ?? 100 })),
  }),
  route({
    method: 'GET',
    path: '/api/items/:id',
    role: 'viewer',
    tag: 'streams',
    summary: 'one stream item: payload, channels, rejections, and every result row (its history)',
    params: z.strictObject({ id: rowId }),
    handle: async (c, { params, deps }) => {
      const item = await itemWithHistory(deps.db, params.id);
      if (!item) throw notFound('item', params.id, 'list items with GET /api/items');
      return c.json(item);
    },
  }),
  route({
    method: 'GET',
    path: '/api/units',
    role: 'viewer',
    tag: 'streams',
    summary: 'every unit (filter, compute, reaction): version, config hash, results or runs',
    handle: async (c, { deps }) => c.json(await listUnits(deps.db, deps.config, baseDirOf(deps))),
  }),
  route({
    method: 'GET',
    path: '/api/units/reruns',
    role: 'viewer',
    tag: 'streams',
    summary: 're-runs of compute units, newest first, with their progress',
    handle: async (c, { deps }) => c.json(await listReruns(deps.db, 100)),
  }),
  route({
    method: 'GET',
    path: '/api/reactions/runs',
    role: 'viewer',
    tag: 'streams',
    summary: 'runs of the scheduled reactions, newest first',
    query: z.strictObject({ reaction: unitName.optional(), limit: intParam(1, 1000).optional() }),
    handle: async (c, { query, deps }) =>
      c.json(await listReactionRuns(deps.db, { reaction: query.reaction, limit: query.limit ?? 100 })),
  }),
  route({
    method: 'POST',
    path: '/api/units/:name/reruns',
    role: 'operator',
    tag: 'streams',
    summary: "run a compute unit's current version over past items (dry_run: only count them)",
    params: z.strictObject({ name: unitName }),
    body: z.strictObject({
      since: isoDate.optional(),
      channel: idFilter.optional(),
      dry_run: z.boolean({ message: 'expected true or false' }).optional(),
    }),
    handle: async (c, { params, body, actor, deps }) => {
      const { units, channels } = deps.config.streams;
      if (ownEntry(units, params.name)?.kind !== 'compute')
        throw notFound('compute unit', params.name, 'list units with GET /api/units');
      if (body.channel !== undefined && !ownEntry(channels, body.channel))
        throw badInput(
          'channel',
          `unknown channel '${body.channel}': expected one of ${Object.keys(channels).join(', ') || 'none configured'}`,
        );
      const opts = { since: body.since, channel: body.channel };
      if (body.dry_run) return c.json(await previewRerun(deps.db, deps.config.streams, params.name, opts));
      const row = await startRerun(deps.db, deps.config.streams, baseDirOf(deps), {
        ...opts,
        unit: params.name,
        actor,
      });
      return c.json(row, 201);
    },
  }),
  route({
    method: 'POST',
    path: '/api/units/reruns/:id/cancel',
    role: 'operator',
    tag: 'streams',
    summary: 'cancel a running re-run (results stored so far stay)',
    params: z.strictObject({ id: rowId }),
    handle: async (c, { params, actor, deps }) => {
      const rerun = await getRerun(deps.db, params.id);
      if (!rerun) throw notFound('re-run', params.id, 'list re-runs with GET /api/units/reruns');
      if (rerun.status !== 'running') throw conflict(`re-run ${params.id} is ${rerun.status} already`);
      return c.json(await cancelRerun(deps.db, params.id, actor));
    },
  }),
];
