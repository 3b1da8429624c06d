/**
 * The acquisition_signals table (migration 0023): "acquisition finished" events taken from a stream,
 * per instrument and watch-folder entry name. The only module with SQL naming it. Written by the stream
 * consumer's batch transaction (signals.ts), read and spent by the scan.
 */
import type { Queryable } from '../core/db/db.ts';

/** Signals nobody used (the file never showed up) are dropped after this long. */
const KEEP_UNUSED_HOURS = 24;

export interface NewSignal {
  instrument: string;
  name: string;
  source: string;
  seq: number;
}

/** Stores signals; a newer one for the same entry replaces the older. */
export async function insertSignals(q: Queryable, rows: NewSignal[]): Promise<void> {
  if (rows.length === 0) return;
  await q.exec(
    `insert into acquisition_signals (instrument, name, source, stream_seq)
     select distinct on (i, n) i, n, s, q
       from unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) as t(i, n, s, q)
       order by i, n, q desc
     on conflict (instrument, name) do update
       set source = excluded.source, stream_seq = excluded.stream_seq, received_at = now()`,
    [
      rows.map((r) => r.instrument),
      rows.map((r) => r.name),
      rows.map((r) => r.source),
      rows.map((r) => r.seq),
    ],
  );
}

/** The instrument's signals by entry name, as the reason a timeline shows. */
export async function signalsFor(q: Queryable, instrument: string): Promise<Map<string, string>> {
  const rows = await q.query<{ name: string; source: string; stream_seq: string; at: string }>(
    `select name, source, stream_seq::text, to_char(received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at
     from acquisition_signals where instrument = $1`,
    [instrument],
  );
  return new Map(
    rows.map((r) => [
      r.name,
      `the instrument reported the acquisition finished (stream source ${r.source}, sequence ${r.stream_seq}, ${r.at})`,
    ]),
  );
}

/** Deletes the signals the scan used, and the instrument's unused ones older than a day. */
export async function spendSignals(
  q: Queryable,
  instrument: string,
  names: readonly string[],
): Promise<void> {
  await q.exec(
    `delete from acquisition_signals where instrument = $1
       and (name = any($2::text[]) or received_at < now() - make_interval(hours => $3))`,
    [instrument, names, KEEP_UNUSED_HOURS],
  );
}
