/**
 * Live file events as Server-Sent Events. Each event carries its id, so a reconnecting
 * EventSource resumes after the last one it saw (`Last-Event-ID`); without one the stream starts
 * with events newer than the connection. See `event-feed.ts` for why no event is skipped, and for
 * the one reader (`FeedHub`) all streams of a process share.
 */
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { errorMessage } from '../../core/errors.ts';
import { latestEventId } from '../../engine/events.ts';
import type { ApiDeps } from '../deps.ts';
import { badInput } from '../errors.ts';
import { FeedHub } from '../event-feed.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor, withoutHidden } from '../visibility.ts';

const EVENT_ID = /^\d{1,18}$/;
const KEEPALIVE_MS = 15_000;

export const eventRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/events',
    role: 'viewer',
    tag: 'events',
    summary: 'a live stream (text/event-stream) of file events: status changes and notes',
    description:
      'Each message: `event: file`, `id: <event id>`, `data: {id, at, subject_id, actor, from_state, to_state, reason}`. Resume with the Last-Event-ID header or ?after=<id>.',
    produces: 'text/event-stream',
    query: z.strictObject({
      after: z.string().regex(EVENT_ID, 'expected an event id').optional().meta({
        description: 'start after this event id (as Last-Event-ID)',
      }),
    }),
    handle: async (c, { query, principal, deps }) => {
      const header = c.req.header('last-event-id');
      if (header !== undefined && !EVENT_ID.test(header))
        throw badInput('Last-Event-ID', 'expected an event id');
      const from = header ?? query.after;
      const cursor = from !== undefined ? BigInt(from) : await latestEventId(deps.db);
      // events of files in projects the caller may not see are left out (catalog.project_visibility)
      const hidden = await hiddenFor(deps.db, principal);
      const sub = hubOf(deps).subscribe(cursor);
      c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
      return streamSSE(
        c,
        async (sse) => {
          sse.onAbort(() => sub.close());
          try {
            await sse.writeSSE({
              event: 'ready',
              data: JSON.stringify({ after: cursor.toString() }),
              retry: 3000,
            });
            let lastWrite = Date.now();
            while (!sse.aborted && !sse.closed) {
              const events = await withoutHidden(
                deps.db,
                await sub.next(KEEPALIVE_MS),
                (e) => e.subject_id,
                hidden,
              );
              for (const e of events) {
                const { subject_type: _t, ...data } = e;
                await sse.writeSSE({ event: 'file', id: e.id, data: JSON.stringify(data) });
                lastWrite = Date.now();
              }
              if (!sse.aborted && Date.now() - lastWrite >= KEEPALIVE_MS) {
                await sse.write(': keep-alive\n\n');
                lastWrite = Date.now();
              }
            }
          } finally {
            sub.close();
          }
        },
        async (err) => {
          deps.log?.warn({ err }, 'event stream ended with an error');
        },
      );
    },
  }),
];

/** One feed reader per API (process), shared by its streams. */
const hubs = new WeakMap<ApiDeps, FeedHub>();
export function hubOf(deps: ApiDeps): FeedHub {
  let hub = hubs.get(deps);
  if (!hub) {
    hub = new FeedHub(deps.db, deps.eventPollMs ?? 1000, (err) =>
      deps.log?.warn(
        { err: errorMessage(err) },
        'reading new events for the live streams failed; trying again',
      ),
    );
    hubs.set(deps, hub);
  }
  return hub;
}
