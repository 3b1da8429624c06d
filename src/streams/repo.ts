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

/** An item as the reactions, re-runs and the items interfaces read it. */
export interface ListedItem extends StoredItem {
  received_at: Date;
}

const LISTED = `id::text, source, stream_seq::int8::float8 as stream_seq, subject, payload, channels, received_at`;

/**
 * Items after id `afterId` (oldest first, at most `limit`), of the given sources and accepted by one of
 * the given channels (undefined: any). A reaction's selection: it keeps the last id as its cursor.
 */
export async function itemsAfter(
  q: Queryable,
  f: { afterId: string; sources?: string[]; channels?: string[]; limit: number; settleSeconds: number },
): Promise<ListedItem[]> {
  return q.query<ListedItem>(
    `select ${LISTED} from stream_items
      where id > $1 and ($2::text[] is null or source = any($2)) and ($3::text[] is null or channels && $3)
        and received_at < now() - make_interval(secs => $5)
      order by stream_items.id limit $4`,
    [f.afterId, f.sources ?? null, f.channels ?? null, f.limit, f.settleSeconds],
  );
}

export interface ItemQuery {
  source?: string;
  channel?: string;
  since?: Date;
  /** Only items older than this id (paging back). */
  before?: string;
  limit: number;
}

/** Items newest first, with how many results each has. */
export async function listItems(
  q: Queryable,
  f: ItemQuery,
): Promise<(ListedItem & { results: number; rejections: number })[]> {
  return q.query(
    `select ${LISTED},
            (select count(*)::int from unit_results r where r.item_id = i.id) as results,
            (select count(*)::int from filter_decisions d where d.item_id = i.id) as rejections
       from stream_items i
      where ($1::text is null or source = $1) and ($2::text is null or $2 = any(channels))
        and ($3::timestamptz is null or received_at >= $3) and ($4::bigint is null or id < $4)
      order by i.id desc limit $5`,
    [f.source ?? null, f.channel ?? null, f.since ?? null, f.before ?? null, f.limit],
  );
}

export interface ResultHistoryRow {
  id: string;
  unit: string;
  unit_version: string;
  config_hash: string;
  result: unknown;
  at: Date;
}

/** One item with every result row (oldest first: its history) and its channels' rejections. */
export async function itemWithHistory(q: Queryable, id: string) {
  const item = await q.maybeOne<ListedItem>(`select ${LISTED} from stream_items where id = $1`, [id]);
  if (!item) return undefined;
  const results = await q.query<ResultHistoryRow>(
    `select id::text, unit, unit_version, config_hash, result, at from unit_results
      where item_id = $1 order by unit, unit_results.id`,
    [id],
  );
  const rejections = await q.query<{
    channel: string;
    unit: string;
    unit_version: string;
    config_hash: string;
    reason: string;
    at: Date;
  }>(
    `select channel, unit, unit_version, config_hash, reason, at from filter_decisions
      where item_id = $1 order by channel`,
    [id],
  );
  return { ...item, results, rejections };
}

/** The items a re-run covers: after `afterId` up to `lastId`, received since `since`, in `channels`. */
function rerunWhere(): string {
  return `id > $1 and id <= $2 and ($3::timestamptz is null or received_at >= $3)
      and ($4::text[] is null or channels && $4)`;
}

export interface RerunScope {
  since?: Date;
  /** Accepted by one of these channels (undefined: every item). */
  channels?: string[];
}

/** How many items a re-run over `scope` covers, and the newest one's id (0 when there is none). */
export async function rerunPreview(q: Queryable, scope: RerunScope): Promise<{ n: number; last: string }> {
  return q.one(
    `select count(*)::int as n, coalesce(max(id), 0)::text as last from stream_items
      where ${rerunWhere()}`,
    [0, '9223372036854775807', scope.since ?? null, scope.channels ?? null],
  );
}

/** The next batch of a re-run: items after `afterId`, up to `lastId`, oldest first. */
export async function rerunBatch(
  q: Queryable,
  scope: RerunScope & { afterId: string; lastId: string; limit: number },
): Promise<ListedItem[]> {
  return q.query<ListedItem>(
    `select ${LISTED} from stream_items where ${rerunWhere()} order by stream_items.id limit $5`,
    [scope.afterId, scope.lastId, scope.since ?? null, scope.channels ?? null, scope.limit],
  );
}

/** Per unit that has produced anything: results, items, the newest result and the versions seen. */
export async function unitResultSummary(q: Queryable): Promise<
  {
    unit: string;
    results: number;
    items: number;
    last_at: Date | null;
    versions: string[];
  }[]
> {
  return q.query(
    `select unit, count(*)::int as results, count(distinct item_id)::int as items, max(at) as last_at,
            array_agg(distinct unit_version || '/' || config_hash) as versions
       from unit_results group by unit order by unit`,
  );
}
