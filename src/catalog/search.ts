/**
 * Search: one box over sample refcodes, names and attributes, file names (trigram index) and
 * projects, leaving out what the reader may not see. Filters: a project, what to search (samples,
 * files, projects).
 *
 * Samples are found in stages, each an index read in refcode order that stops at the limit (so a
 * term matching 60,000 samples reads about as few rows as one matching three): refcodes starting
 * with the term (btree on `lower(refcode)`), then samples whose refcode, name, type or attribute
 * values hold the term's words (full-text vector), then the samples of the project whose id or name
 * the term is; only when these find nothing, refcodes, names, types and projects holding the term
 * as a substring (trigram index; at most SUBSTRING_CAP candidates are ordered). All stages are one
 * statement (one round trip; under load each round trip costs more than these index reads).
 * Measured by `npm run bench -- catalog` (search_p95_ms).
 */
import type { Queryable } from '../core/db/db.ts';
import { type CatalogFile, searchFileNames } from '../files/catalog-reads.ts';
import type { SampleRow } from './samples.ts';

export const SEARCH_KINDS = ['samples', 'files', 'projects'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

type FoundSample = Omit<SampleRow, 'created_by' | 'created_at' | 'updated_by' | 'updated_at'>;

export interface SearchResult {
  samples: FoundSample[];
  files: CatalogFile[];
  projects: { id: string; name: string }[];
}

/** A substring matching more samples than this orders (and shows) some of them. */
export const SUBSTRING_CAP = 2000;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const contains = (s: string) => `%${escapeLike(s)}%`;

/** Pure: the samples of the stages in order, each once, at most `limit`. */
export function mergeStages(stages: readonly (readonly FoundSample[])[], limit: number): FoundSample[] {
  const seen = new Set<string>();
  const out: FoundSample[] = [];
  for (const s of stages.flat()) {
    if (out.length >= limit) break;
    if (seen.has(s.refcode)) continue;
    seen.add(s.refcode);
    out.push(s);
  }
  return out;
}

const SAMPLE_COLS = 'id, refcode, name, project_id, type, attributes';
const VISIBLE = 'project_id <> all($2::text[]) and ($3::text is null or project_id = $3)';

type StagedSample = FoundSample & { n: number };

/**
 * One statement, one round trip: refcode prefix (1), words (2), the samples of a project named by
 * the term (3: its id or name, any case), and only when those three find nothing a substring (4;
 * its condition on the other stages is evaluated once, before its scan).
 */
async function searchSamples(
  q: Queryable,
  t: string,
  o: { hidden: readonly string[]; project?: string; limit: number },
): Promise<FoundSample[]> {
  const rows = await q.query<StagedSample & { k: string }>(
    // j runs only when the term names a project (a one-time condition): otherwise the planner walks
    // every sample in refcode order looking for a project that is not there.
    `with p as materialized (
       select 1 as n, lower(refcode) as k, ${SAMPLE_COLS} from samples where lower(refcode) like $1 and ${VISIBLE}
       order by lower(refcode) limit $4),
     w as materialized (
       select 2 as n, refcode as k, ${SAMPLE_COLS} from samples
       where search_tsv @@ plainto_tsquery('simple', $5) and ${VISIBLE} order by refcode limit $4),
     j as materialized (
       select 3 as n, refcode as k, ${SAMPLE_COLS} from samples
       where exists (select 1 from projects where lower(id) = lower($5) or lower(name) = lower($5))
         and project_id = (select id from projects where lower(id) = lower($5) or lower(name) = lower($5)
                           order by id limit 1)
         and ${VISIBLE} order by refcode limit $4),
     s as materialized (
       select 4 as n, refcode as k, ${SAMPLE_COLS} from samples
       where not exists (select 1 from p) and not exists (select 1 from w) and not exists (select 1 from j)
         and search_text ilike $6 and ${VISIBLE} limit ${SUBSTRING_CAP})
     select * from p union all select * from w union all select * from j
     union all (select * from s order by k limit $4)`,
    [`${escapeLike(t.toLowerCase())}%`, o.hidden, o.project ?? null, o.limit, t, contains(t)],
  );
  const stages = [1, 2, 3, 4].map((n) =>
    rows.filter((r) => r.n === n).map(({ n: _n, k: _k, ...sample }) => sample),
  );
  return mergeStages(stages, o.limit);
}

export async function search(
  q: Queryable,
  term: string,
  o: { hidden: readonly string[]; project?: string; kinds?: readonly SearchKind[]; limit: number },
): Promise<SearchResult> {
  const kinds = new Set(o.kinds?.length ? o.kinds : SEARCH_KINDS);
  const t = term.trim();
  const [samples, files, projects] = await Promise.all([
    kinds.has('samples') ? searchSamples(q, t, o) : [],
    kinds.has('files') ? searchFileNames(q, t, o.hidden, o.limit, o.project) : [],
    kinds.has('projects')
      ? q.query<{ id: string; name: string }>(
          `select id, name from projects where (id || ' ' || name) ilike $1 and id <> all($2::text[]) order by id limit $3`,
          [contains(t), o.hidden, o.limit],
        )
      : [],
  ]);
  return { samples, files, projects };
}
