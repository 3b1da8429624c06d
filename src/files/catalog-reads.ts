/**
 * Reads of file records that the catalog (src/catalog/) needs: names for linking at acquisition,
 * the files of samples and data sets, and file-name search. Projects hidden from the reader are
 * passed in and left out here, in SQL.
 */
import type { Queryable } from '../core/db/db.ts';
import { NAME_WORDS_SQL, nameWordsQuery } from './name-words.ts';

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
const VISIBLE = 'project_id <> all($1::text[]) and ($3::text is null or project_id = $3)';

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

/** Below this many characters a term is not looked for inside words (no trigram to narrow it). */
export const MIN_INFIX = 3;

/**
 * Files whose name contains `term` (case-insensitive), newest first, in two stages: names holding
 * the term at the start of a word (`files_name_words`, src/files/name-words.ts), and only when
 * there are none, names holding it anywhere (trigram index; terms of MIN_INFIX characters or more).
 * Each stage orders at most SEARCH_MATCH_CAP matches.
 */
export async function searchFileNames(
  q: Queryable,
  term: string,
  hidden: readonly string[],
  limit: number,
  project?: string,
): Promise<CatalogFile[]> {
  const words = nameWordsQuery(term);
  if (words === null && term.length < MIN_INFIX) return [];
  const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  // One statement, one round trip: the substring stage runs only when the words stage found
  // nothing (its condition on `w` is evaluated once, before its scan). In the words stage the
  // substring check keeps only true matches (word order, neighbours, a prefix left out of the
  // query); strpos, not ilike, so the planner does not add the trigram index to that read. Each
  // stage takes its matches first (a bitmap read) and orders them after: ordered by created_at
  // with a LIMIT, the planner walks files_created backwards through all million rows for a rare term.
  return q.query<CatalogFile>(
    `with w as materialized (
       select ${COLS} from files where $4::text is not null and ${NAME_WORDS_SQL} @@ lower($4)::tsquery
         and strpos(lower(name), lower($5)) > 0 and ${VISIBLE}
       limit ${SEARCH_MATCH_CAP}),
     s as materialized (
       select ${COLS} from files where $7::boolean and not exists (select 1 from w)
         and name ilike $6 and ${VISIBLE}
       limit ${SEARCH_MATCH_CAP})
     select * from w union all select * from s order by created_at desc, id limit $2`,
    [hidden, limit, project ?? null, words, term, like, term.length >= MIN_INFIX],
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
