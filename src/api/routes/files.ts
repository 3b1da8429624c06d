/** Files: filtered, keyset-paginated listing, CSV export, and one file's full record. */
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import type { Queryable } from '../../core/db/db.ts';
import { ownEntry } from '../../core/own.ts';
import { FILE_STATUSES } from '../../files/lifecycle.ts';
import { type Cursor, type FileFilters, type FileListRow, filesPage, SORTS } from '../../files/list-page.ts';
import { instrumentRecorded } from '../../files/repo.ts';
import { fileDetail } from '../../views/file-detail.ts';
import type { ApiDeps } from '../deps.ts';
import { badInput, notFound } from '../errors.ts';
import { decodeCursor } from '../files-query.ts';
import { fileId, idFilter, intParam, isoDate, listOf } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor } from '../visibility.ts';

const filters = {
  instrument: idFilter.optional().meta({ description: 'only this instrument' }),
  status: listOf(FILE_STATUSES, 'status').optional(),
  project: idFilter.optional().meta({ description: 'only this project' }),
  from: isoDate
    .optional()
    .meta({ description: 'discovered at or after (ISO 8601; a date alone is 00:00 UTC)' }),
  to: isoDate.optional().meta({ description: 'discovered before (ISO 8601; exclusive)' }),
  q: z.string().min(1).max(200, 'a search has at most 200 characters').optional().meta({
    description: 'case-insensitive substring of the name',
  }),
  sort: z.enum(SORTS, { message: `expected one of: ${SORTS.join(', ')}` }).default('created_at'),
  dir: z.enum(['desc', 'asc'], { message: 'expected desc or asc' }).default('desc'),
};

const listQuery = z.strictObject({
  ...filters,
  limit: intParam(1, 500, 'a page size')
    .optional()
    .meta({ description: 'rows per page, 1–500 (default 50)' }),
  cursor: z.string().max(2000).optional().meta({ description: '`nextCursor` of the previous page' }),
});
const csvQuery = z.strictObject(filters);

type Filters = z.output<typeof csvQuery>;

/** Checks filter values that need the database; returns the filters for the query builder. */
async function checked(q: Queryable, f: Filters, deps: ApiDeps): Promise<FileFilters> {
  if (f.from && f.to && f.from >= f.to) throw badInput('to', 'must be later than from');
  if (f.instrument !== undefined && !ownEntry(deps.config.instruments, f.instrument)) {
    if (!(await instrumentRecorded(q, f.instrument)))
      throw badInput(
        'instrument',
        `no instrument '${f.instrument}'`,
        `configured instruments: ${Object.keys(deps.config.instruments).join(', ') || 'none'}`,
      );
  }
  return f;
}

/**
 * A file for the API: the manifest lives with the copies, the acquired fingerprint's member list
 * (thousands of entries for a large folder) is left out; sizes are numbers.
 */
function apiFile<
  T extends { size_bytes: string; sort_key?: string; manifest?: unknown; acquired_fingerprint?: unknown },
>(row: T) {
  const { sort_key: _k, manifest: _m, acquired_fingerprint: _f, ...rest } = row;
  return { ...rest, size_bytes: Number(row.size_bytes) };
}

const CSV_COLUMNS = [
  'id',
  'instrument_id',
  'project_id',
  'name',
  'kind',
  'status',
  'status_reason',
  'size_bytes',
  'instrument_copy',
  'created_at',
  'acquired_at',
  'updated_at',
] as const;

/** RFC 4180 quoting; text that a spreadsheet would run as a formula is prefixed with `'`. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(row: Record<string, unknown>): string {
  return `${CSV_COLUMNS.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

/**
 * Streams the CSV. The first page is read before the answer starts, so that a failure there is
 * still an error answer with its status (not a 200 with a header and nothing else); a failure
 * on a later page can only cut the stream short, and is logged.
 */
async function streamCsv(c: Context, deps: ApiDeps, f: FileFilters): Promise<Response> {
  const max = deps.csvMaxRows ?? 100_000;
  const next = (written: number, cursor?: Cursor) =>
    filesPage(deps.db, f, Math.min(1000, max - written), cursor);
  let page: { rows: FileListRow[]; nextCursor: string | null } = await next(0);
  c.header('Content-Type', 'text/csv; charset=utf-8');
  c.header('Content-Disposition', 'attachment; filename="sluice-files.csv"');
  c.header('X-Sluice-Max-Rows', String(max));
  return stream(
    c,
    async (out) => {
      await out.write(`${CSV_COLUMNS.join(',')}\r\n`);
      let written = 0;
      for (;;) {
        if (page.rows.length > 0) await out.write(page.rows.map(csvLine).join(''));
        written += page.rows.length;
        if (!page.nextCursor || written >= max || out.aborted) break;
        const last = page.rows[page.rows.length - 1]!;
        page = await next(written, { key: last.sort_key, id: last.id });
      }
    },
    async (err) => {
      deps.log?.error({ err }, 'CSV export failed part way');
    },
  );
}

export const fileRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/files',
    role: 'viewer',
    tag: 'files',
    summary: 'files matching the filters, one page at a time (keyset pagination)',
    description:
      'Pass `nextCursor` as `cursor` for the next page, with the same filters, sort and dir. Every file appears exactly once across pages.',
    query: listQuery,
    handle: async (c, { query, principal, deps }) => {
      const { limit, cursor, ...rest } = query;
      const f = { ...(await checked(deps.db, rest, deps)), hidden: await hiddenFor(deps.db, principal) };
      const page = await filesPage(
        deps.db,
        f,
        limit ?? 50,
        cursor === undefined ? undefined : decodeCursor(f, cursor),
      );
      return c.json({ items: page.rows.map(apiFile), nextCursor: page.nextCursor });
    },
  }),
  route({
    method: 'GET',
    path: '/api/files.csv',
    role: 'viewer',
    tag: 'files',
    summary: 'the same filters as /api/files, all matching rows as CSV (streamed; at most 100,000 rows)',
    query: csvQuery,
    produces: 'text/csv',
    handle: async (c, { query, principal, deps }) =>
      streamCsv(c, deps, {
        ...(await checked(deps.db, query, deps)),
        hidden: await hiddenFor(deps.db, principal),
      }),
  }),
  route({
    method: 'GET',
    path: '/api/files/:id',
    role: 'viewer',
    tag: 'files',
    summary: 'one file: details, backup copies with hashes, jobs, metrics and its timeline',
    params: z.strictObject({ id: fileId }),
    handle: async (c, { params, principal, deps }) => {
      const detail = await fileDetail(deps.db, params.id);
      // a file of a project the caller may not see is answered as if it did not exist
      const hidden = detail ? await hiddenFor(deps.db, principal) : [];
      if (!detail || hidden.includes(detail.file.project_id))
        throw notFound('file', params.id, 'list files with GET /api/files');
      const { file, copies, jobs, metrics, events } = detail;
      return c.json({
        file: {
          ...apiFile(file),
          manifest_entries: file.manifest?.entries.length ?? null,
          acquired_files: file.acquired_fingerprint?.members?.length ?? null,
        },
        copies: copies.map((x) => ({ ...x, bytes: Number(x.bytes) })),
        jobs,
        metrics,
        events,
      });
    },
  }),
];
