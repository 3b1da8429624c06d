/**
 * The file listing's SQL (part of the files repo): filters plus keyset pagination. Rows are
 * ordered by (sort key, id) in one direction; the cursor carries the last row's sort key and id,
 * and the next page starts strictly after that pair. Ties on the sort key are broken by id, so
 * every row appears exactly once however many share a timestamp, and a page costs the same at
 * row 10 as at row 1,000,000 (indexes `files_*_id` in migration 0004).
 *
 * `q` is a case-insensitive substring of the name (ILIKE, served by a trigram index when pg_trgm
 * is installed). The API decodes and checks a client's cursor (`src/api/files-query.ts`).
 */

import type { Queryable } from '../core/db/db.ts';

export const SORTS = ['created_at', 'name', 'size'] as const;
export type Sort = (typeof SORTS)[number];
export type Dir = 'asc' | 'desc';

/** Per sort: the column, its text form in a cursor, and its SQL type. */
const KEY: Record<Sort, { col: string; text: string; cast: string }> = {
  created_at: {
    col: 'created_at',
    text: `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    cast: 'timestamptz',
  },
  name: { col: 'name', text: 'name', cast: 'text' },
  size: { col: 'size_bytes', text: 'size_bytes::text', cast: 'bigint' },
};

export interface FileFilters {
  instrument?: string;
  status?: string[];
  project?: string;
  from?: Date;
  to?: Date;
  q?: string;
  /** Projects the reader may not see (`catalog.project_visibility`): their files are left out. */
  hidden?: readonly string[];
  sort: Sort;
  dir: Dir;
}

export interface Cursor {
  key: string;
  id: string;
}

export const FILE_COLUMNS = `id, instrument_id, name, kind, companions, source_path, current_path, project_id, status,
  status_reason, size_bytes, mtime, first_seen_at, last_change_at, main_file_present, acquired_at, hash_algorithm,
  instrument_copy, created_at, updated_at`;

export interface FileListRow {
  id: string;
  instrument_id: string;
  name: string;
  size_bytes: string;
  status: string;
  created_at: Date;
  sort_key: string;
  [k: string]: unknown;
}

export function encodeCursor(
  f: Pick<FileFilters, 'sort' | 'dir'>,
  row: { sort_key: string; id: string },
): string {
  return Buffer.from(JSON.stringify([f.sort, f.dir, row.sort_key, row.id])).toString('base64url');
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}

/** One page (at most `limit` rows) after `cursor`. */
export function filesPageSql(
  f: FileFilters,
  limit: number,
  cursor?: Cursor,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.instrument !== undefined) where.push(`instrument_id = ${p(f.instrument)}`);
  if (f.status !== undefined) where.push(`status = any(${p(f.status)}::text[])`);
  if (f.project !== undefined) where.push(`project_id = ${p(f.project)}`);
  if (f.from !== undefined) where.push(`created_at >= ${p(f.from)}`);
  if (f.to !== undefined) where.push(`created_at < ${p(f.to)}`);
  if (f.q !== undefined) where.push(`name ilike ${p(`%${escapeLike(f.q)}%`)}`);
  if (f.hidden?.length) where.push(`project_id <> all(${p(f.hidden)}::text[])`);
  const k = KEY[f.sort];
  const dir = f.dir === 'desc' ? 'desc' : 'asc';
  if (cursor)
    where.push(
      `(${k.col}, id) ${dir === 'desc' ? '<' : '>'} (${p(cursor.key)}::${k.cast}, ${p(cursor.id)}::text)`,
    );
  const sql = `select ${FILE_COLUMNS}, ${k.text} as sort_key from files
    ${where.length ? `where ${where.join(' and ')}` : ''}
    order by ${k.col} ${dir}, id ${dir} limit ${p(limit)}`;
  return { sql, params };
}

/** A page and the cursor of the next one (null on the last page). */
export async function filesPage(
  q: Queryable,
  f: FileFilters,
  limit: number,
  cursor?: Cursor,
): Promise<{ rows: FileListRow[]; nextCursor: string | null }> {
  const { sql, params } = filesPageSql(f, limit + 1, cursor);
  const rows = await q.query<FileListRow>(sql, params);
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, nextCursor: more ? encodeCursor(f, rows[rows.length - 1]!) : null };
}
