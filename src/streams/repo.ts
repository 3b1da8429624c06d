/**
 * The streams tables (migration 0020): stream_items, filter_decisions, unit_results and
 * stream_dead_letters. The only module with SQL naming them. Writes take the caller's transaction, so a
 * batch's items, decisions and results commit together, before the messages are acknowledged.
 */
import type { Queryable } from '../core/db/db.ts';

export interface NewItem {
  source: string;
  /** The stream's name and creation time (see the migration): with `seq`, the message's identity. */
  stream: string;
  seq: number;
  msgId: string | null;
  subject: string;
  /** The payload as JSON text. */
  payload: string;
  channels: string[];
}

/**
 * Inserts the items not stored yet (unique on stream + stream sequence: a redelivered message adds
 * nothing). Returns the new items' ids by stream sequence; a sequence missing from it was stored before.
 */
export async function insertItems(q: Queryable, items: NewItem[]): Promise<Map<number, string>> {
  if (items.length === 0) return new Map();
  const rows = await q.query<{ id: string; stream_seq: string }>(
    `insert into stream_items (source, stream, stream_seq, msg_id, subject, payload, channels)
     select s, st, n, m, subj, p::jsonb, case when c = '' then '{}'::text[] else string_to_array(c, ',') end
       from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         as t(s, n, m, subj, p, c, st)
     on conflict (stream, stream_seq) do nothing
     returning id::text, stream_seq::text`,
    [
      items.map((i) => i.source),
      items.map((i) => i.seq),
      items.map((i) => i.msgId),
      items.map((i) => i.subject),
      items.map((i) => i.payload),
      items.map((i) => i.channels.join(',')),
      items.map((i) => i.stream),
    ],
  );
  return new Map(rows.map((r) => [Number(r.stream_seq), r.id]));
}

export interface RejectionRow {
  itemId: string;
  channel: string;
  unit: string;
  version: string;
  hash: string;
  reason: string;
}

export async function insertRejections(q: Queryable, rows: RejectionRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.exec(
    `insert into filter_decisions (item_id, channel, unit, unit_version, config_hash, reason)
     select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     on conflict do nothing`,
    [
      rows.map((r) => r.itemId),
      rows.map((r) => r.channel),
      rows.map((r) => r.unit),
      rows.map((r) => r.version),
      rows.map((r) => r.hash),
      rows.map((r) => r.reason),
    ],
  );
}

export interface ResultInsert {
  itemId: string;
  unit: string;
  version: string;
  hash: string;
  /** The result as JSON text. */
  result: string;
}

/** Adds result rows (never updates one: every run is kept). */
export async function insertResults(q: Queryable, rows: ResultInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await q.exec(
    `insert into unit_results (item_id, unit, unit_version, config_hash, result)
     select i, u, v, h, r::jsonb from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) as t(i, u, v, h, r)`,
    [
      rows.map((r) => r.itemId),
      rows.map((r) => r.unit),
      rows.map((r) => r.version),
      rows.map((r) => r.hash),
      rows.map((r) => r.result),
    ],
  );
}

export interface DeadLetter {
  source: string;
  stream: string;
  seq: number;
  subject: string;
  data: Uint8Array;
  deliveries: number;
  reason: string;
}

/** Records dead letters (a message already recorded keeps its first row). */
export async function insertDeadLetters(q: Queryable, rows: DeadLetter[]): Promise<void> {
  for (const r of rows) {
    await q.exec(
      `insert into stream_dead_letters (source, stream, stream_seq, subject, data, deliveries, reason)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict (stream, stream_seq) do nothing`,
      [r.source, r.stream, r.seq, r.subject, Buffer.from(r.data), r.deliveries, r.reason],
    );
  }
}

export interface StoredItem {
  id: string;
  source: string;
  stream_seq: number;
  subject: string;
  payload: unknown;
  channels: string[];
}

export async function getItem(q: Queryable, id: string): Promise<StoredItem | undefined> {
  return q.maybeOne<StoredItem>(
    `select id::text, source, stream_seq::int8::float8 as stream_seq, subject, payload, channels
       from stream_items where id = $1`,
    [id],
  );
}

/** The latest result of each of `units` for an item (a unit without one is absent). */
export async function latestResults(
  q: Queryable,
  itemId: string,
  units: string[],
): Promise<Record<string, unknown>> {
  if (units.length === 0) return {};
  const rows = await q.query<{ unit: string; result: unknown }>(
    `select distinct on (unit) unit, result from unit_results
      where item_id = $1 and unit = any($2::text[]) order by unit, id desc`,
    [itemId, units],
  );
  return Object.fromEntries(rows.map((r) => [r.unit, r.result]));
}

export interface StreamCounts {
  source: string;
  items: number;
  dead_letters: number;
  last_seq: number | null;
}

/** Items and dead letters per source (for `streams status` and the tests). */
export async function streamCounts(q: Queryable): Promise<StreamCounts[]> {
  return q.query<StreamCounts>(
    `select source, sum(items)::int as items, sum(dead)::int as dead_letters, max(last_seq)::float8 as last_seq
       from (select source, count(*) as items, 0 as dead, max(stream_seq) as last_seq from stream_items group by source
             union all
             select source, 0, count(*), null from stream_dead_letters group by source) t
      group by source order by source`,
  );
}

/** Items stored per source in the last 5 minutes and the last hour (the API's rates). */
export async function itemRates(
  q: Queryable,
): Promise<{ source: string; last_5m: number; last_1h: number }[]> {
  return q.query(
    `select source, count(*) filter (where received_at > now() - interval '5 minutes')::int as last_5m,
       count(*)::int as last_1h
     from stream_items where received_at > now() - interval '1 hour' group by source order by source`,
  );
}

/** Rejections per source, channel and filter unit; results per compute unit (the API and Prometheus). */
export async function unitCounts(q: Queryable): Promise<{
  rejections: { source: string; channel: string; unit: string; n: number }[];
  results: { unit: string; n: number }[];
}> {
  const [rejections, results] = await Promise.all([
    q.query<{ source: string; channel: string; unit: string; n: number }>(
      `select i.source, d.channel, d.unit, count(*)::int as n
       from filter_decisions d join stream_items i on i.id = d.item_id
       group by i.source, d.channel, d.unit order by 1, 2, 3`,
    ),
    q.query<{ unit: string; n: number }>(
      'select unit, count(*)::int as n from unit_results group by unit order by unit',
    ),
  ]);
  return { rejections, results };
}

export interface DeadLetterRow {
  id: string;
  source: string;
  stream_seq: number;
  subject: string;
  deliveries: number;
  reason: string;
  /** The message's bytes as text, non-printable bytes escaped (cut at 2,000 characters). */
  data: string;
  at: string;
}

/** The newest dead letters, of one source or all. */
export async function listDeadLetters(
  q: Queryable,
  source: string | undefined,
  limit: number,
): Promise<DeadLetterRow[]> {
  return q.query<DeadLetterRow>(
    `select id::text, source, stream_seq::float8 as stream_seq, subject, deliveries, reason,
       left(encode(data, 'escape'), 2000) as data,
       to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at
     from stream_dead_letters where ($1::text is null or source = $1) order by id desc limit $2`,
    [source ?? null, limit],
  );
}
