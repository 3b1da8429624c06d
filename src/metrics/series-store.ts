/**
 * The metric series for charts, read from the `metrics` table (owned by `store.ts`; this read side
 * is allowed in scripts/owners.ts): the newest points of a metric as parallel arrays built by PostgreSQL as JSON text
 * (`seriesJson`), and for display its times and values with a look-up of the files of the points a
 * chart keeps (`displayPoints`, thinned by `lttb.ts`).
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
/** The values' binary forms, one after the other. */
const BYTES = `string_agg(x.v, ''::bytea)`;

/** Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch for binary timestamps. */
const PG_EPOCH_US = 946_684_800_000_000;

/** Epoch microseconds from binary timestamptz values (big-endian int64 µs since 2000; exact below 2^53). */
function micros(b: Buffer | null): number[] {
  if (!b) return [];
  const out = new Array<number>(b.length / 8);
  for (let i = 0; i < out.length; i++)
    out[i] = b.readInt32BE(i * 8) * 4_294_967_296 + b.readUInt32BE(i * 8 + 4) + PG_EPOCH_US;
  return out;
}

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

/** A series' points for display: every time and value, and a way to find the files of chosen ones. */
export interface DisplayPoints {
  /** Epoch microseconds, exact (PostgreSQL keeps microseconds), in time order. */
  us: number[];
  value: (number | null)[];
  truncated: boolean;
  /** The file of each chosen point (indexes into `us`), in the order given. */
  filesOf(indexes: readonly number[]): Promise<string[]>;
}

/**
 * The newest `limit` points of one metric without their file ids, in one pass (the file ids are
 * most of a series' cost), and a look-up of the files of the points a chart keeps. Times travel as
 * whole microseconds: the epoch as a double is within a quarter microsecond of the exact time for
 * any date this side of the year 2200, so rounding recovers the exact stamp for the look-up.
 */
export async function displayPoints(
  db: Db,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
): Promise<DisplayPoints> {
  const parallel: RunAll = (fns) => Promise.all(fns.map((f) => f()));
  // times and values by two queries at once over one fixed range, as `seriesJson` does (and the
  // same fallback should they disagree)
  const read =
    (await readDisplay(db, name, sq, parallel)) ??
    (await db.tx(async (tx) => {
      await tx.exec('set transaction isolation level repeatable read');
      return readDisplay(tx, name, sq, inSequence);
    }));
  if (!read) return { us: [], value: [], truncated: false, filesOf: async () => [] };
  const { us, range } = read;
  return {
    us,
    value: read.value,
    truncated: read.truncated,
    // the look-up is by exact key within the fixed range: any snapshot finds the same rows
    filesOf: async (indexes) => {
      const stamps = [...new Set(indexes.map((i) => isoMicros(us[i]!)))];
      const found = await db.query<{ us: string; file_id: string }>(
        `select ${MICROS} as us, m.file_id from metrics m
          where ${pointFilter('m')} and ${IN_RANGE} and m.created_at = any($10::timestamptz[])
          order by m.created_at, m.file_id`,
        [...range, stamps],
      );
      // points sharing a stamp are in (time, file) order on both sides: hand them out in turn
      const queue = new Map<number, string[]>();
      for (const f of found) queue.set(Number(f.us), [...(queue.get(Number(f.us)) ?? []), f.file_id]);
      return indexes.map((i) => queue.get(us[i]!)?.[sameStampRank(us, i)] ?? '');
    },
  };
}

/** Times and values of the range; null when there are no points, undefined when the two disagree. */
async function readDisplay(
  q: Queryable,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
  runAll: RunAll,
): Promise<
  { us: number[]; value: (number | null)[]; truncated: boolean; range: unknown[] } | null | undefined
> {
  const bounds = await seriesRange(q, name, sq, runAll);
  if (!bounds) return null;
  // times travel in PostgreSQL's binary form (8 bytes each, no formatting: half the cost of text)
  const [t, v] = await Promise.all([
    runAll([() => rangeColumn<Buffer>(q, bounds.range, 'timestamptz_send(m.created_at)', BYTES)]),
    runAll([() => rangeColumn(q, bounds.range, VALUE_JSON, NUMBERS)]),
  ]).then(([[a], [b]]) => [a!, b!] as const);
  if (t.n !== v.n) return undefined;
  return {
    us: micros(t.json),
    value: JSON.parse(v.json ?? '[]') as (number | null)[],
    truncated: bounds.truncated,
    range: bounds.range,
  };
}

/** How many points before index `i` share its time stamp (its rank among them). */
function sameStampRank(us: readonly number[], i: number): number {
  let k = 0;
  while (i - k - 1 >= 0 && us[i - k - 1] === us[i]) k++;
  return k;
}

/** An ISO 8601 time with microseconds from epoch microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = us - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micro).padStart(3, '0')}Z`;
}
