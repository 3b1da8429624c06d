/**
 * Raw data linked to samples: by the config's filename patterns when a file is acquired
 * (`linkAcquired`, called by the flow in the transaction that records the acquisition), and by hand
 * (`linkByHand`). A link is the edge `file measured sample`, with the pattern's named groups
 * (replicate …) kept as its detail.
 */
import type { CatalogConfig } from '../core/config/schema/catalog.ts';
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { type CatalogFile, catalogFiles } from '../files/catalog-reads.ts';
import { addEdges, type Edge } from './relations.ts';
import { existingRefcodes } from './samples.ts';

export interface PatternMatch {
  sample: string;
  pattern: string;
  groups: Record<string, string>;
}

/** Pure: the samples a file name names, one per pattern that matches (each sample once). */
export function matchPatterns(
  patterns: CatalogConfig['link_patterns'],
  name: string,
  instrument: string,
): PatternMatch[] {
  const out: PatternMatch[] = [];
  for (const p of patterns) {
    if (p.instruments.length > 0 && !p.instruments.includes(instrument)) continue;
    const m = new RegExp(p.pattern).exec(name);
    const sample = m?.groups?.sample;
    if (!m || !sample || out.some((o) => o.sample === sample)) continue;
    const groups = Object.fromEntries(
      Object.entries(m.groups ?? {}).filter(([k, v]) => k !== 'sample' && v !== undefined),
    );
    out.push({ sample, pattern: p.pattern, groups: groups as Record<string, string> });
  }
  return out;
}

/** Pure: the `file measured sample` edges the patterns make for `files`, kept to the samples `wanted` allows. */
export function patternEdges(
  patterns: CatalogConfig['link_patterns'],
  files: readonly Pick<CatalogFile, 'id' | 'name' | 'instrument_id'>[],
  wanted: (sample: string) => boolean = () => true,
): Edge[] {
  return files.flatMap((f) =>
    matchPatterns(patterns, f.name, f.instrument_id)
      .filter((m) => wanted(m.sample))
      .map(
        (m): Edge => ({
          subject_kind: 'file',
          subject_id: f.id,
          relation: 'measured',
          object_kind: 'sample',
          object_id: m.sample,
          via: 'pattern',
          detail: { pattern: m.pattern, ...m.groups },
        }),
      ),
  );
}

/**
 * Adds the pattern links of `files` to the samples (that exist, and that `wanted` allows) their names
 * name; returns the number of links added.
 */
export async function linkByPatterns(
  q: Queryable,
  patterns: CatalogConfig['link_patterns'],
  files: readonly Pick<CatalogFile, 'id' | 'name' | 'instrument_id'>[],
  actor: string,
  wanted?: (sample: string) => boolean,
): Promise<number> {
  const candidates = patternEdges(patterns, files, wanted);
  if (candidates.length === 0) return 0;
  const known = await existingRefcodes(q, [...new Set(candidates.map((e) => e.object_id))]);
  return (
    await addEdges(
      q,
      candidates.filter((e) => known.has(e.object_id)),
      actor,
    )
  ).length;
}

/** Links newly acquired files to the samples their names name (samples that exist; others are skipped). */
export async function linkAcquired(
  q: Queryable,
  catalog: CatalogConfig | undefined,
  fileIds: readonly string[],
): Promise<number> {
  // undefined: a config built by hand (tests) rather than parsed has no catalog section
  if (!catalog?.link_patterns.length || fileIds.length === 0) return 0;
  return linkByPatterns(q, catalog.link_patterns, await catalogFiles(q, fileIds), 'catalog:pattern');
}

/** Links a file to a sample by hand (both must exist and be visible). */
export async function linkByHand(
  q: Queryable,
  fileId: string,
  refcode: string,
  actor: string,
  hidden: readonly string[] = [],
): Promise<boolean> {
  const [file] = await catalogFiles(q, [fileId], hidden);
  if (!file) throw new UsageError(`no file with id '${fileId}'`, 'list files with `sluice files list`');
  if (!(await existingRefcodes(q, [refcode], hidden)).has(refcode)) {
    throw new UsageError(`no sample '${refcode}'`, 'list samples with `sluice samples list`');
  }
  const added = await addEdges(
    q,
    [
      {
        subject_kind: 'file',
        subject_id: fileId,
        relation: 'measured',
        object_kind: 'sample',
        object_id: refcode,
        via: 'manual',
        detail: {},
      },
    ],
    actor,
  );
  return added.length > 0;
}
