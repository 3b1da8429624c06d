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
 *
 * The word, prefix and substring stages read `sample_search`, which the `catalog.index` task fills
 * after an import commits (./search-index.ts); until then a sample is found by its exact refcode
 * (stage 0, on `samples`), and by its project (stage 3, on `samples`).
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

const SAMPLE_COLS = 's.id, s.refcode, s.name, s.project_id, s.type, s.attributes';
const VISIBLE = 's.project_id <> all($2::text[]) and ($3::text is null or s.project_id = $3)';
/** The indexed samples (`sample_search`, written after an import by ./search-index.ts). */
const INDEXED = 'sample_search x join samples s on s.id = x.sample_id';

type StagedSample = FoundSample & { n: number };

/**
 * One statement, one round trip: the exact refcode (0, indexed or not yet), refcode prefix (1), words
 * (2), the samples of a project named by the term (3: its id or name, any case), and only when those
 * find nothing a substring (4; its condition on the other stages is evaluated once, before its scan).
 */
async function searchSamples(
  q: Queryable,
  t: string,
  o: { hidden: readonly string[]; project?: string; limit: number },
): Promise<FoundSample[]> {
  const rows = await q.query<StagedSample & { k: string }>(
    // j runs only when the term names a project (a one-time condition): otherwise the planner walks
    // every sample in refcode order looking for a project that is not there. u (the substring) only
    // when no other stage found anything.
    `with e as materialized (
       select 0 as n, s.refcode as k, ${SAMPLE_COLS} from samples s where s.refcode = $5 and ${VISIBLE} limit $4),
     p as materialized (
       select 1 as n, lower(x.refcode) as k, ${SAMPLE_COLS} from ${INDEXED} where lower(x.refcode) like $1 and ${VISIBLE}
       order by lower(x.refcode) limit $4),
     w as materialized (
       select 2 as n, x.refcode as k, ${SAMPLE_COLS} from ${INDEXED}
       where x.search_tsv @@ plainto_tsquery('simple', $5) and ${VISIBLE} order by x.refcode limit $4),
     j as materialized (
       select 3 as n, s.refcode as k, ${SAMPLE_COLS} from samples s
       where exists (select 1 from projects where lower(id) = lower($5) or lower(name) = lower($5))
         and s.project_id = (select id from projects where lower(id) = lower($5) or lower(name) = lower($5)
                             order by id limit 1)
         and ${VISIBLE} order by s.refcode limit $4),
     u as materialized (
       select 4 as n, x.refcode as k, ${SAMPLE_COLS} from ${INDEXED}
       where not exists (select 1 from e) and not exists (select 1 from p) and not exists (select 1 from w)
         and not exists (select 1 from j) and x.search_text ilike $6 and ${VISIBLE} limit ${SUBSTRING_CAP})
     select * from e union all select * from p union all select * from w union all select * from j
     union all (select * from u order by k limit $4)`,
    [`${escapeLike(t.toLowerCase())}%`, o.hidden, o.project ?? null, o.limit, t, contains(t)],
  );
  const stages = [0, 1, 2, 3, 4].map((n) =>
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
