/**
 * Reads of file records that the catalog (src/catalog/) needs: names for linking at acquisition,
 * the files of samples and data sets, and file-name search. Projects hidden from the reader are
 * passed in and left out here, in SQL.
 */
import type { Queryable } from '../core/db/db.ts';

export interface CatalogFile {
  id: string;
  name: string;
  kind: 'file' | 'folder' | 'files';
  instrument_id: string;
  project_id: string;
  status: string;
  size_bytes: string;
  created_at: Date;
}

const COLS = 'id, name, kind, instrument_id, project_id, status, size_bytes, created_at';

/** The files with these ids, leaving out those of `hidden` projects, newest first. */
export async function catalogFiles(
  q: Queryable,
  ids: readonly string[],
  hidden: readonly string[] = [],
): Promise<CatalogFile[]> {
  return q.query<CatalogFile>(
    `select ${COLS} from files where id = any($1::text[]) and project_id <> all($2::text[]) order by created_at desc, id`,
    [ids, hidden],
  );
}

/** At most this many matching files are ordered for a search (a term matching more shows some of them). */
export const SEARCH_MATCH_CAP = 5000;

/** Files whose name contains `term` (case-insensitive; the trigram index answers it), newest first. */
export async function searchFileNames(
  q: Queryable,
  term: string,
  hidden: readonly string[],
  limit: number,
  project?: string,
): Promise<CatalogFile[]> {
  const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  // Matches first (trigram index), newest of them after: ordered by created_at with a LIMIT, the
  // planner walks files_created backwards and reads all million rows for a term that matches none.
  return q.query<CatalogFile>(
    `with hit as materialized (
       select ${COLS} from files where name ilike $1 and project_id <> all($2::text[])
         and ($4::text is null or project_id = $4)
       limit ${SEARCH_MATCH_CAP})
     select * from hit order by created_at desc, id limit $3`,
    [like, hidden, limit, project ?? null],
  );
}

/** The newest files of a project. */
export async function filesOfProject(q: Queryable, project: string, limit: number): Promise<CatalogFile[]> {
  return q.query<CatalogFile>(
    `select ${COLS} from files where project_id = $1 order by created_at desc, id limit $2`,
    [project, limit],
  );
}

/** One batch of files (id and name, instrument) after `afterId` in id order, for the catalog's re-link pass. */
export async function fileNamesAfter(
  q: Queryable,
  afterId: string,
  limit: number,
): Promise<Pick<CatalogFile, 'id' | 'name' | 'instrument_id'>[]> {
  return q.query('select id, name, instrument_id from files where id > $1 order by id limit $2', [
    afterId,
    limit,
  ]);
}

/** Files whose name contains any of `terms` (case-insensitive; the trigram index answers each). */
export async function filesNamingAny(
  q: Queryable,
  terms: readonly string[],
): Promise<Pick<CatalogFile, 'id' | 'name' | 'instrument_id'>[]> {
  if (terms.length === 0) return [];
  const likes = terms.map((t) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return q.query('select id, name, instrument_id from files where name ilike any($1::text[]) order by id', [
    likes,
  ]);
}

/** The project of each of these files (for the per-project visibility of events and metric points). */
export async function projectsOfFiles(q: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await q.query<{ id: string; project_id: string }>(
    'select id, project_id from files where id = any($1::text[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.project_id]));
}
