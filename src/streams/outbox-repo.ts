/**
 * The outbox tables (migration 0023): `outbox` (one row per file timeline event, written by a trigger
 * on `events` in the transaction that records the event) and `outbox_switch` (whether the trigger
 * writes at all). The only module with SQL naming them; the publisher is outbox.ts.
 */
import type { Queryable, Tx } from '../core/db/db.ts';

/** Key of the transaction-level advisory lock one publishing round holds: one publisher at a time keeps the order. */
const PUBLISH_LOCK = 'sluice.outbox.publish';

export interface OutboxRow {
  event_id: string;
  instrument: string | null;
  kind: string;
  payload: Record<string, unknown>;
}

/** Switches the trigger on or off (every Sluice process sets it at start from its config). */
export async function setOutboxEnabled(q: Queryable, enabled: boolean): Promise<void> {
  await q.exec(
    `insert into outbox_switch (one, enabled) values (true, $1)
     on conflict (one) do update set enabled = excluded.enabled where outbox_switch.enabled <> excluded.enabled`,
    [enabled],
  );
}

export async function outboxEnabled(q: Queryable): Promise<boolean> {
  const r = await q.maybeOne<{ enabled: boolean }>('select enabled from outbox_switch');
  return r?.enabled ?? false;
}

/**
 * The oldest `limit` unpublished rows, in event order, for this transaction's publisher; undefined when
 * another publisher holds the round (its lock ends with its transaction, a crashed one's with its
 * connection).
 */
export async function takeUnpublished(tx: Tx, limit: number): Promise<OutboxRow[] | undefined> {
  const lock = await tx.one<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtext($1)) as ok', [
    PUBLISH_LOCK,
  ]);
  if (!lock.ok) return undefined;
  return tx.query<OutboxRow>(
    `select event_id::text, instrument, kind, payload from outbox
     where published_at is null order by event_id limit $1`,
    [limit],
  );
}

export async function markPublished(tx: Tx, eventIds: readonly string[]): Promise<void> {
  await tx.exec('update outbox set published_at = now() where event_id = any($1::bigint[])', [eventIds]);
}

/** Deletes rows published more than `hours` ago; returns how many. */
export async function prunePublished(q: Queryable, hours: number): Promise<number> {
  return q.exec(
    `delete from outbox where published_at is not null and published_at < now() - make_interval(secs => $1)`,
    [hours * 3600],
  );
}

export interface OutboxCounts {
  pending: number;
  published: number;
  /** Seconds since the oldest unpublished row was written (null: none pending). */
  oldest_pending_seconds: number | null;
  /** When the newest published row was published (null: none kept). */
  last_published_at: Date | null;
}

export async function outboxCounts(q: Queryable): Promise<OutboxCounts> {
  return q.one<OutboxCounts>(
    `select count(*) filter (where published_at is null)::int as pending,
       count(*) filter (where published_at is not null)::int as published,
       extract(epoch from now() - min(created_at) filter (where published_at is null))::float8
         as oldest_pending_seconds,
       max(published_at) as last_published_at
     from outbox`,
  );
}
