/**
 * Reading the event log in id order without skipping anything, for the live stream.
 *
 * Event ids come from a sequence, so they are handed out in insert order but become visible in
 * commit order: id 41 may commit after id 42. A reader that just remembers "the last id I sent"
 * would then skip 41 for ever. So the reader stops at a gap in the ids and waits:
 *
 *   next id is cursor + 1                  → deliver it, move on
 *   a gap (cursor + 1 not visible yet)     → wait, while the gap may still fill:
 *       - it was first seen less than `minWaitMs` ago (its transaction may not have written yet), or
 *       - a transaction that was running when the gap was first seen is still running
 *         (up to `maxWaitMs`: a session left idle in a transaction must not stall the stream)
 *   otherwise the id was rolled back        → skip it
 *
 * The rows and the list of running transactions come from one statement, so they see the same
 * snapshot. The cursor walks over all events; only `subject_type = 'file'` ones are returned.
 */
import type { Queryable } from '../core/db/db.ts';

export interface FeedEvent {
  id: string;
  at: string;
  subject_type: string;
  subject_id: string;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
}

export interface FeedState {
  cursor: bigint;
  gap?: { at: bigint; since: number; running: Set<string> };
}

export async function latestEventId(q: Queryable): Promise<bigint> {
  const r = await q.one<{ id: string | null }>('select max(id)::text as id from events');
  return BigInt(r.id ?? '0');
}

export async function readFeed(
  q: Queryable,
  state: FeedState,
  opts: { batch?: number; minWaitMs?: number; maxWaitMs?: number; now?: number } = {},
): Promise<FeedEvent[]> {
  const now = opts.now ?? Date.now();
  const row = await q.one<{ running: string[] | null; events: FeedEvent[] | null }>(
    `select
       (select array_agg(x::text) from pg_snapshot_xip(pg_current_snapshot()) x) as running,
       (select json_agg(e order by e.id) from (
          select id::text, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, subject_type,
            subject_id, actor, from_state, to_state, reason
          from events where id > $1 order by id limit $2) e) as events`,
    [state.cursor.toString(), opts.batch ?? 500],
  );
  const running = new Set(row.running ?? []);
  const out: FeedEvent[] = [];
  for (const e of row.events ?? []) {
    const id = BigInt(e.id);
    if (id !== state.cursor + 1n) {
      const gap = state.gap;
      if (!gap || gap.at !== state.cursor + 1n) {
        state.gap = { at: state.cursor + 1n, since: now, running };
        break;
      }
      const age = now - gap.since;
      const mayFill = [...gap.running].some((x) => running.has(x));
      if (age < (opts.minWaitMs ?? 2000) || (mayFill && age < (opts.maxWaitMs ?? 60_000))) break;
    }
    state.cursor = id;
    state.gap = undefined;
    if (e.subject_type === 'file') out.push(e);
  }
  return out;
}
