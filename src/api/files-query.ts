/**
 * The file listing's parameters as the API takes them: the cursor a client sends back is decoded
 * and checked here (a bad one is a 400 naming `cursor`). The query itself, with its filters, sort
 * and keyset pagination, is the files repo's (`src/files/list-page.ts`).
 */

import { parseIsoDate } from '../core/dates.ts';
import { type Cursor, type FileFilters, SORTS, type Sort } from '../files/list-page.ts';
import { badInput } from './errors.ts';
import { textProblem } from './params.ts';

/** PostgreSQL's bigint range, where `size_bytes` lives. */
const BIGINT_MAX = 9223372036854775807n;

/** A timestamp as the listing writes it (UTC, microseconds) that PostgreSQL can also read. */
function validTimestamp(k: string): boolean {
  const m = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.exec(k);
  return m !== null && Number(m[1]) >= 1 && parseIsoDate(k) !== undefined;
}

/** Text a cursor may carry: a name or an id as stored (PostgreSQL text: no NUL, valid Unicode). */
function validText(k: string): boolean {
  return k.length > 0 && k.length <= 1000 && textProblem(k) === undefined;
}

/** Per sort: which cursor keys are valid. */
const VALID_KEY: Record<Sort, (key: string) => boolean> = {
  created_at: validTimestamp,
  name: validText,
  size: (k) => /^\d{1,19}$/.test(k) && BigInt(k) <= BIGINT_MAX,
};

export function decodeCursor(f: Pick<FileFilters, 'sort' | 'dir'>, raw: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  const t =
    Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'string') ? (v as string[]) : [];
  const [sort, dir, key, id] = t;
  // not VALID_KEY[sort] for any text: `constructor` or `__proto__` would find Object's own members
  const valid = SORTS.find((s) => s === sort) === undefined ? undefined : VALID_KEY[sort as Sort];
  const bad = !valid || (dir !== 'asc' && dir !== 'desc') || key === undefined || !valid(key);
  if (bad || id === undefined || !validText(id))
    throw badInput(
      'cursor',
      'not a cursor returned by this API',
      'pass `nextCursor` from the previous page unchanged',
    );
  if (sort !== f.sort || dir !== f.dir)
    throw badInput(
      'cursor',
      `this cursor belongs to sort=${sort}&dir=${dir}, not sort=${f.sort}&dir=${f.dir}`,
      'keep sort and dir the same while paging',
    );
  return { key, id };
}
