/**
 * The re-link pass: files acquired before their sample existed are linked to it once it does, by the
 * same `catalog.link_patterns` as at acquisition (`./links.ts`). Run after samples are created or
 * imported (for those refcodes) and by `sluice samples relink [--project]` (all samples, or one
 * project's). Idempotent: a link that exists is left as it is, and the count is of links added.
 */
import type { CatalogConfig } from '../core/config/schema/catalog.ts';
import type { Db } from '../core/db/db.ts';
import { fileNamesAfter, filesNamingAny } from '../files/catalog-reads.ts';
import { linkByPatterns } from './links.ts';
import { refcodesOfProject } from './samples.ts';

/** Up to this many new refcodes are looked for by name (trigram index); more and every file is read. */
const BY_NAME_MAX = 200;
const BATCH = 5000;
const ACTOR = 'catalog:relink';

export interface RelinkScope {
  /** Only links to these samples (the ones just created). */
  refcodes?: readonly string[];
  /** Only links to this project's samples. */
  project?: string;
}

/**
 * Links the files whose names name samples in `scope` (all samples without one). Each batch is its own
 * transaction, so a long pass over a million files holds no lock for long; a pass cut short is simply
 * run again. Returns the number of links added.
 */
export async function relink(
  db: Db,
  catalog: CatalogConfig | undefined,
  scope: RelinkScope = {},
): Promise<number> {
  const patterns = catalog?.link_patterns ?? [];
  if (patterns.length === 0 || scope.refcodes?.length === 0) return 0;
  let allowed: Set<string> | undefined = scope.refcodes ? new Set(scope.refcodes) : undefined;
  if (scope.project !== undefined) {
    const ofProject = new Set(await refcodesOfProject(db, scope.project));
    allowed = allowed ? new Set([...allowed].filter((r) => ofProject.has(r))) : ofProject;
    if (allowed.size === 0) return 0;
  }
  const inScope = (s: string) => allowed === undefined || allowed.has(s);
  if (allowed !== undefined && allowed.size <= BY_NAME_MAX) {
    const files = await filesNamingAny(db, [...allowed]);
    return db.tx((tx) => linkByPatterns(tx, patterns, files, ACTOR, inScope));
  }
  let added = 0;
  for (let after = ''; ; ) {
    const files = await fileNamesAfter(db, after, BATCH);
    if (files.length === 0) return added;
    added += await db.tx((tx) => linkByPatterns(tx, patterns, files, ACTOR, inScope));
    after = files[files.length - 1]!.id;
  }
}
