/**
 * Search: one box over sample refcodes, names and attributes (trigram index on the samples' search
 * text, full-text vector for words), file names (trigram index) and projects, leaving out what the
 * reader may not see. Filters: a project, what to search (samples, files, projects).
 */
import type { Queryable } from '../core/db/db.ts';
import { type CatalogFile, searchFileNames } from '../files/catalog-reads.ts';
import type { SampleRow } from './samples.ts';

export const SEARCH_KINDS = ['samples', 'files', 'projects'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export interface SearchResult {
  samples: Omit<SampleRow, 'created_by' | 'created_at' | 'updated_by' | 'updated_at'>[];
  files: CatalogFile[];
  projects: { id: string; name: string }[];
}

const escapeLike = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function search(
  q: Queryable,
  term: string,
  o: { hidden: readonly string[]; project?: string; kinds?: readonly SearchKind[]; limit: number },
): Promise<SearchResult> {
  const kinds = new Set(o.kinds?.length ? o.kinds : SEARCH_KINDS);
  const t = term.trim();
  const [samples, files, projects] = await Promise.all([
    kinds.has('samples')
      ? q.query<SearchResult['samples'][number]>(
          `select id, refcode, name, project_id, type, attributes from samples
           where (search_text ilike $1 or search_tsv @@ plainto_tsquery('simple', $2))
             and project_id <> all($3::text[]) and ($4::text is null or project_id = $4)
           order by (refcode = $2) desc, refcode limit $5`,
          [escapeLike(t), t, o.hidden, o.project ?? null, o.limit],
        )
      : [],
    kinds.has('files') ? searchFileNames(q, t, o.hidden, o.limit, o.project) : [],
    kinds.has('projects')
      ? q.query<{ id: string; name: string }>(
          `select id, name from projects where (id || ' ' || name) ilike $1 and id <> all($2::text[]) order by id limit $3`,
          [escapeLike(t), o.hidden, o.limit],
        )
      : [],
  ]);
  return { samples, files, projects };
}
