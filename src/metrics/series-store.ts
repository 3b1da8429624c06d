/**
 * The metric series for charts, read from the `metrics` table (owned by `store.ts`; this read side
 * is allowed in scripts/owners.ts): the newest points of a metric as parallel arrays built by PostgreSQL as JSON text
 * (`seriesJson`), and for display its times and values in binary form with a look-up of the files of
 * the points a chart keeps (`displayPoints`, thinned by `lttb.ts`).
 */
import type { Db, Queryable } from '../core/db/db.ts';

/** The points of series $1 that match the filters ($2 instrument … $5 to). */
function pointFilter(m: string): string {
  return `${m}.name = $1 and ($2::text is null or ${m}.instrument_id = $2)
    and ($3::text is null or ${m}.settings_name = $3)
    and ($4::timestamptz is null or ${m}.created_at >= $4) and ($5::timestamptz is null or ${m}.created_at < $5)`;
}

export interface SeriesQuery {
  names: string[];
  instrument?: string;
  settings?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

const EMPTY_SERIES = '{"t":[],"value":[],"file":[],"truncated":false}';

/**
 * Each series as JSON text, built by PostgreSQL (one row per name, in the order asked).
 *
 * Building the JSON of 100,000 points is most of the cost, so each series' three arrays are built
 * by three queries at once (on separate connections, so on separate cores), over the same range
 * of points: from just after `cut` (the newest point that does not fit, which also tells whether
 * older points exist) to the newest point, fixed before the three start. Points are only ever
 * added after the newest one, so the three agree; should they not (rows deleted meanwhile), the
 * same queries run again one after the other in one snapshot (REPEATABLE READ).
 */
export async function seriesJson(db: Db, q: SeriesQuery): Promise<{ name: string; series: string }[]> {
  const parallel: RunAll = (fns) => Promise.all(fns.map((f) => f()));
  return Promise.all(
    q.names.map(async (name) => {
      const series =
        (await buildSeries(db, name, q, parallel)) ??
        (await db.tx(async (tx) => {
          await tx.exec('set transaction isolation level repeatable read');
          return buildSeries(tx, name, q, inSequence);
        }));
      // in one snapshot the three always agree
      return { name, series: series ?? EMPTY_SERIES };
    }),
  );
}

type RunAll = <T>(fns: (() => Promise<T>)[]) => Promise<T[]>;
const inSequence: RunAll = async (fns) => {
  const out = [];
  for (const f of fns) out.push(await f());
  return out;
};

/** A point's key: the time as exact text (a JS Date would drop the microseconds) and the file. */
type Key = { created_at: string; file_id: string };
const KEY = `to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at, m.file_id`;

/** The newest point and the newest one that does not fit (the limit+1-th newest), as the range's bounds. */
async function seriesRange(
  q: Queryable,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
  runAll: RunAll,
): Promise<{ range: unknown[]; truncated: boolean } | undefined> {
  const base = [name, sq.instrument ?? null, sq.settings ?? null, sq.from ?? null, sq.to ?? null];
  const where = pointFilter('m');
  const [cut, newest] = await runAll([
    () =>
      q.maybeOne<Key>(
        // the key is formatted outside: with OFFSET, PostgreSQL computes the output of skipped rows too
        `select ${KEY} from (select m.created_at, m.file_id from metrics m where ${where}
         order by m.created_at desc, m.file_id desc offset $6 limit 1) m`,
        [...base, sq.limit],
      ),
    () =>
      q.maybeOne<Key>(
        `select ${KEY} from metrics m where ${where} order by m.created_at desc, m.file_id desc limit 1`,
        base,
      ),
  ]);
  if (!newest) return undefined;
  const range = [
    ...base,
    cut?.created_at ?? '-infinity',
    cut?.file_id ?? '',
    newest.created_at,
    newest.file_id,
  ];
  return { range, truncated: cut !== undefined };
}

/** Points after the cut ($6, $7) up to the newest ($8, $9), in time order. */
const IN_RANGE = `(m.created_at, m.file_id) > ($6::timestamptz, $7::text)
           and (m.created_at, m.file_id) <= ($8::timestamptz, $9::text)`;
/** A point's time in whole microseconds since the epoch (exact: see `displayPoints`). */
const MICROS = `((date_part('epoch', m.created_at) * 1000000)::bigint)::text`;
/** A value as JSON (NaN and ±Infinity have no JSON form; extractors store them as null anyway). */
const VALUE_JSON = `case when m.value > '-Infinity' and m.value < 'Infinity' then m.value::text else 'null' end`;

/**
 * One column of the points in `range` as a JSON array's text (`json` aggregates `x.v`), with their
 * count. Numbers go through string_agg of their text form, which is valid JSON for integers and
 * finite floats and cheaper than json_agg; file ids need its quoting.
 */
function rangeColumn<J = string>(q: Queryable, range: unknown[], expr: string, json: string) {
  return q.one<{ json: J | null; n: number }>(
    `select ${json} as json, count(*)::int as n from (
       select ${expr} as v from metrics m
       where ${pointFilter('m')} and ${IN_RANGE}
       order by m.created_at, m.file_id) x`,
    range,
  );
}
const NUMBERS = `'[' || string_agg(x.v, ',') || ']'`;
/** Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch for binary timestamps. */
const PG_EPOCH_US = 946_684_800_000_000;

/** One series' JSON, or undefined when its three arrays came out of different lengths. */
async function buildSeries(
  q: Queryable,
  name: string,
  sq: SeriesQuery,
  runAll: RunAll,
): Promise<string | undefined> {
  const bounds = await seriesRange(q, name, sq, runAll);
  if (!bounds) return EMPTY_SERIES;
  const { range } = bounds;
  const column = (expr: string, json: string) => () => rangeColumn(q, range, expr, json);
  const [t, value, file] = await runAll([
    column(`((date_part('epoch', m.created_at) * 1000)::bigint)::text`, NUMBERS),
    column(VALUE_JSON, NUMBERS),
    column('m.file_id', 'json_agg(x.v)::text'),
  ]);
  if (t!.n !== value!.n || t!.n !== file!.n) return undefined;
  if (t!.n === 0) return EMPTY_SERIES;
  return `{"t":${t!.json},"value":${value!.json},"file":${file!.json},"truncated":${bounds.truncated}}`;
}

/** A series read for display: every time and value, the points a chart keeps, and their files. */
export interface DisplayPoints {
  /** Epoch microseconds, exact (PostgreSQL keeps microseconds), in time order. */
  us: number[];
  value: (number | null)[];
  truncated: boolean;
  /** The indexes (into `us`) that `choose` kept, as it gave them. */
  chosen: number[];
  /** The file of each chosen point. */
  files: string[];
}

/** A missing value travels as a NaN (a missing value and one not finite both draw nothing). */
const NO_VALUE = `'\\x7ff8000000000000'::bytea`;

/**
 * The newest `limit` points of one metric without their file ids (the file ids are most of a
 * series' cost), of which `choose` picks the ones a chart keeps (thinning, `lttb.ts`), and the
 * files of those. One query reads the points newest first along the index (`limit` + 1 of them:
 * one more tells whether older points exist), each as 16 bytes in PostgreSQL's binary forms (time,
 * value: no formatting as text); the files of the chosen points are then looked up by their exact
 * time stamp in the same snapshot (REPEATABLE READ), so the look-up sees exactly the points read.
 */
export async function displayPoints(
  db: Db,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
  choose: (us: readonly number[], value: readonly (number | null)[]) => number[],
): Promise<DisplayPoints> {
  const base = [name, sq.instrument ?? null, sq.settings ?? null, sq.from ?? null, sq.to ?? null];
  return db.tx(async (tx) => {
    await tx.exec('set transaction isolation level repeatable read, read only');
    const read = await tx.one<{ b: Buffer | null; n: number }>(
      `select string_agg(timestamptz_send(m.created_at) || coalesce(float8send(m.value), ${NO_VALUE}), ''::bytea) as b,
         count(*)::int as n
       from (select m.created_at, m.value from metrics m where ${pointFilter('m')}
             order by m.created_at desc, m.file_id desc limit $6) m`,
      [...base, sq.limit + 1],
    );
    const { us, value } = newestFirst(read.b, Math.min(read.n, sq.limit));
    const chosen = choose(us, value);
    const files = await filesOf(tx, base, us, chosen);
    return { us, value, truncated: read.n > sq.limit, chosen, files };
  });
}

/**
 * The first `n` of the (time, value) pairs in `b` (newest first: 8 bytes of a binary timestamptz,
 * 8 of a float8 each), in time order. A value that is not finite is null (it has no JSON form).
 */
function newestFirst(b: Buffer | null, n: number): { us: number[]; value: (number | null)[] } {
  const us = new Array<number>(n);
  const value = new Array<number | null>(n);
  for (let k = 0; k < n; k++) {
    const at = k * 16;
    const i = n - 1 - k;
    us[i] = b!.readInt32BE(at) * 4_294_967_296 + b!.readUInt32BE(at + 4) + PG_EPOCH_US;
    const v = b!.readDoubleBE(at + 8);
    value[i] = Number.isFinite(v) ? v : null;
  }
  for (let i = 1; i < n; i++)
    if (us[i]! < us[i - 1]!) throw new Error('metric points came out of time order'); // a bug, not bad input
  return { us, value };
}

/**
 * The file of each chosen point: the points of the series at the chosen time stamps, newest first.
 * Points sharing a stamp are in the same (time, file) order on both sides, so each gets the file of
 * its rank counted from the newest end: the cut below the oldest points kept may fall between points
 * of one stamp, and the ones kept are the newest of them.
 */
async function filesOf(
  q: Queryable,
  base: unknown[],
  us: readonly number[],
  chosen: readonly number[],
): Promise<string[]> {
  if (chosen.length === 0) return [];
  const stamps = [...new Set(chosen.map((i) => isoMicros(us[i]!)))];
  const found = await q.query<{ us: string; file_id: string }>(
    `select ${MICROS} as us, m.file_id from metrics m
      where ${pointFilter('m')} and m.created_at = any($6::timestamptz[])
      order by m.created_at desc, m.file_id desc`,
    [...base, stamps],
  );
  const byStamp = new Map<number, string[]>();
  for (const f of found) {
    const list = byStamp.get(Number(f.us));
    if (list) list.push(f.file_id);
    else byStamp.set(Number(f.us), [f.file_id]);
  }
  return chosen.map((i) => {
    let later = 0;
    while (i + later + 1 < us.length && us[i + later + 1] === us[i]) later++;
    const file = byStamp.get(us[i]!)?.[later];
    if (file === undefined) throw new Error(`no file found for the metric point at ${isoMicros(us[i]!)}`);
    return file;
  });
}

/** An ISO 8601 time with microseconds from epoch microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = us - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micro).padStart(3, '0')}Z`;
}
