/**
 * Rows sent to PostgreSQL by `COPY … FROM STDIN` (text format) in the caller's transaction: the
 * cheapest way to hand the server many rows (no per-row parameters, no array literals to build and
 * parse). Values are text or null; the text format's escaping is done here (backslash, tab, line
 * ends), and a NUL character, which PostgreSQL text cannot hold, is refused with the row it is on.
 */
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { clientOf, type Queryable } from './db.ts';

export type CopyValue = string | null;

/**
 * Rows are sent in chunks of about this many characters, with a turn of the event loop between two
 * (so the process answers its other connections' and this one's messages while it builds them).
 */
const CHUNK_CHARS = 1 << 16;

const SPECIAL = /[\\\t\n\r\0]/;

/** Pure: one value in COPY text format (`\N` for null). Throws on a NUL character. */
export function copyText(v: CopyValue): string {
  if (v === null) return '\\N';
  if (!SPECIAL.test(v)) return v;
  if (v.includes('\0')) throw new Error('a NUL character (\\0) cannot be stored in a text column');
  return v.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** Pure: rows in COPY text format, in chunks (each ends with a whole row). */
export function* copyChunks(rows: Iterable<readonly CopyValue[]>): Generator<string> {
  let chunk = '';
  let n = 0;
  for (const row of rows) {
    n++;
    let line = '';
    for (let i = 0; i < row.length; i++) {
      try {
        line += (i === 0 ? '' : '\t') + copyText(row[i]!);
      } catch (err) {
        throw new Error(`row ${n}, column ${i + 1}: ${(err as Error).message}`);
      }
    }
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * Copies `rows` into `table (columns)` on `q`'s connection (a transaction's, from `db.tx`): the rows
 * are written if and when that transaction commits. `table` and `columns` are SQL identifiers
 * written by the caller, never user input. Returns the number of rows copied.
 */
export async function copyIn(
  q: Queryable,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly CopyValue[]>,
): Promise<number> {
  const client = clientOf(q);
  if (!client) throw new Error('copyIn needs a transaction (db.tx), not the pool');
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  await pipeline(async function* () {
    for (const chunk of copyChunks(rows)) {
      yield chunk;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }, stream);
  return Number(stream.rowCount ?? 0);
}
