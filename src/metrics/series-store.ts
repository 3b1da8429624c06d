/**
 * The metric series for charts, read from the `metrics` table (owned by `store.ts`; this read side
 * is allowed in scripts/owners.ts): the newest points of a metric as parallel arrays built by PostgreSQL as JSON text
 * (`seriesJson`), and for display its times and values as a binary COPY with a look-up of the files
 * of the points a chart keeps (`displayPoints`, thinned by `lttb.ts`); and which metric names have
 * points a caller may see (`namesWithVisiblePoints`).
 */
import { to as copyTo } from 'pg-copy-streams';
import { clientQueryable, type Db, type Queryable, withClient } from '../core/db/db.ts';

/** The points of series $1 that match the filters ($2 instrument … $5 to), or of the values in `p`. */
function pointFilter(m: string, p: readonly string[] = ['$1', '$2', '$3', '$4', '$5']): string {
  return `${m}.name = ${p[0]} and (${p[1]}::text is null or ${m}.instrument_id = ${p[1]})
    and (${p[2]}::text is null or ${m}.settings_name = ${p[2]})
    and (${p[3]}::timestamptz is null or ${m}.created_at >= ${p[3]}) and (${p[4]}::timestamptz is null or ${m}.created_at < ${p[4]})`;
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

/**
 * The newest `limit` points of one metric without their file ids (the file ids are most of a
 * series' cost), of which `choose` picks the ones a chart keeps (thinning, `lttb.ts`), and the
 * files of those. The points are read newest first along the index (`limit` + 1 of them: one more
 * tells whether older points exist) by `COPY … (format binary)`: PostgreSQL sends each time and
 * value in its binary form (no formatting as text, no aggregation) while this side already reads
 * them. The files of the chosen points are then looked up by their exact time stamp in the same
 * snapshot (REPEATABLE READ), so the look-up sees exactly the points read.
 */
export async function displayPoints(
  db: Db,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
  choose: (us: readonly number[], value: readonly (number | null)[]) => number[],
  hidden: readonly string[] = [],
): Promise<DisplayPoints> {
  const base = [name, sq.instrument ?? null, sq.settings ?? null, sq.from ?? null, sq.to ?? null];
  return withClient(db, async (client) => {
    await client.query('begin isolation level repeatable read, read only');
    // COPY takes no parameters: the filter's values go in as quoted literals
    const lit = base.map((v) =>
      v === null ? 'null' : client.escapeLiteral(v instanceof Date ? v.toISOString() : String(v)),
    );
    const seen = visibleTo(hidden.map((p) => client.escapeLiteral(p)));
    const limit = Math.trunc(sq.limit) + 1;
    const stream = client.query(
      copyTo(`copy (select m.created_at, m.value from metrics m where ${pointFilter('m', lit)} ${seen}
                order by m.created_at desc, m.file_id desc limit ${limit}) to stdout (format binary)`),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const read = copiedPoints(Buffer.concat(chunks), sq.limit);
    const chosen = choose(read.us, read.value);
    const files = await filesOf(clientQueryable(client), base, read.us, chosen, seen);
    await client.query('commit');
    return { ...read, chosen, files };
  });
}

/**
 * The condition (quoted project ids in) that leaves out points of files in hidden projects (a file
 * without a project is seen by all); nothing when none is hidden.
 */
function visibleTo(hidden: readonly string[]): string {
  if (hidden.length === 0) return '';
  return `and exists (select 1 from files f where f.id = m.file_id
    and (f.project_id is null or f.project_id <> all(array[${hidden.join(',')}]::text[])))`;
}

/**
 * The first `limit` rows of a binary COPY of (timestamptz, float8) rows, newest first, in time
 * order (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header, then
 * per row a field count and each field as its length (-1: null) and bytes; a field count of -1
 * ends it. A value that is missing or not finite is null (it has no JSON form and draws nothing).
 */
function copiedPoints(
  b: Buffer,
  limit: number,
): { us: number[]; value: (number | null)[]; truncated: boolean } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const t = new Float64Array(limit + 1);
  const v = new Float64Array(limit + 1);
  let at = 11 + 4; // signature, flags
  at += 4 + dv.getInt32(at); // header extension
  let n = 0;
  while (dv.getInt16(at) !== -1) {
    at += 2 + 4; // field count (2), the time's length (8)
    t[n] = dv.getInt32(at) * 4_294_967_296 + dv.getUint32(at + 4) + PG_EPOCH_US;
    const len = dv.getInt32(at + 8);
    v[n] = len === 8 ? dv.getFloat64(at + 12) : Number.NaN;
    at += 12 + Math.max(len, 0);
    n++;
  }
  const kept = Math.min(n, limit);
  const us = new Array<number>(kept);
  const value = new Array<number | null>(kept);
  for (let k = 0; k < kept; k++) {
    const i = kept - 1 - k;
    us[i] = t[k]!;
    value[i] = Number.isFinite(v[k]!) ? v[k]! : null;
    if (k > 0 && t[k]! > t[k - 1]!) throw new Error('metric points came out of time order'); // a bug, not bad input
  }
  return { us, value, truncated: n > limit };
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
  seen: string,
): Promise<string[]> {
  if (chosen.length === 0) return [];
  const stamps = [...new Set(chosen.map((i) => isoMicros(us[i]!)))];
  const found = await q.query<{ us: string; file_id: string }>(
    `select ${MICROS} as us, m.file_id from metrics m
      where ${pointFilter('m')} and m.created_at = any($6::timestamptz[]) ${seen}
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

/**
 * Of `names`, those with at least one point of a file outside the `hidden` projects (a file without
 * a project is seen by all): the names a caller who may not see those projects is shown. One probe
 * per name, which stops at the first such point.
 */
export async function namesWithVisiblePoints(
  q: Queryable,
  names: readonly string[],
  hidden: readonly string[],
): Promise<Set<string>> {
  const rows = await q.query<{ name: string }>(
    `select n.name from unnest($1::text[]) as n(name)
      where exists (select 1 from metrics m join files f on f.id = m.file_id
        where m.name = n.name and (f.project_id is null or f.project_id <> all($2::text[])))`,
    [names, hidden],
  );
  return new Set(rows.map((r) => r.name));
}

/** An ISO 8601 time with microseconds from epoch microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = us - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micro).padStart(3, '0')}Z`;
}
