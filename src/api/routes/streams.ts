/** Streams (issue #21): sources with lag, rates, redeliveries and dead letters; units; the outbox (viewer). */
import { z } from 'zod';
import { streamsOverview } from '../../streams/overview.ts';
import { listDeadLetters } from '../../streams/repo.ts';
import { type AnyRoute, route } from '../route.ts';

export const streamRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/streams',
    role: 'viewer',
    tag: 'streams',
    summary:
      'each stream source: items, rates, lag, unacknowledged, redelivered, dead letters, rejections; each unit; the outbox of file events',
    handle: async (c, { deps }) => c.json(await streamsOverview(deps.db, deps.config.streams)),
  }),
  route({
    method: 'GET',
    path: '/api/streams/dead-letters',
    role: 'viewer',
    tag: 'streams',
    summary: 'the newest dead letters (messages given up), of one source or all, with the reason',
    query: z.strictObject({
      source: z.string().min(1, 'expected a stream source name').optional(),
      limit: z.coerce
        .number({ message: 'expected a whole number from 1 to 500' })
        .int('expected a whole number from 1 to 500')
        .min(1, 'expected a whole number from 1 to 500')
        .max(500, 'expected a whole number from 1 to 500')
        .default(100),
    }),
    handle: async (c, { query, deps }) => c.json(await listDeadLetters(deps.db, query.source, query.limit)),
  }),
];
