/**
 * The catalog's graph: `subject relation object` rows (file F measured sample S; sample S part_of data
 * set D; sample A derived_from sample B), added by filename patterns at acquisition or by hand, each
 * with its history, and walked from any node. Owns `catalog_relations`.
 */
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { projectsOfFiles } from '../files/catalog-reads.ts';
import { recordHistory } from './history.ts';

export const NODE_KINDS = ['file', 'sample', 'dataset'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export const RELATIONS = ['measured', 'derived_from', 'part_of'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface Edge {
  subject_kind: NodeKind;
  subject_id: string;
  relation: Relation;
  object_kind: NodeKind;
  object_id: string;
  via: 'pattern' | 'manual';
  detail: Record<string, unknown>;
}

export interface EdgeRow extends Edge {
  created_by: string;
  created_at: Date;
}

/** Pure: which relations make sense between which kinds (the rest is refused with this reason). */
export function edgeProblem(e: Pick<Edge, 'subject_kind' | 'relation' | 'object_kind'>): string | undefined {
  const ok: Record<Relation, [NodeKind, NodeKind][]> = {
    measured: [['file', 'sample']],
    derived_from: [
      ['sample', 'sample'],
      ['file', 'file'],
    ],
    part_of: [
      ['sample', 'dataset'],
      ['file', 'dataset'],
      ['sample', 'sample'],
    ],
  };
  const pairs = ok[e.relation];
  if (pairs.some(([s, o]) => s === e.subject_kind && o === e.object_kind)) return undefined;
  return `a ${e.subject_kind} cannot be '${e.relation}' a ${e.object_kind}: expected ${pairs.map(([s, o]) => `${s} ${e.relation} ${o}`).join(' or ')}`;
}

/** Adds edges (those already there are left as they are); their history is recorded. Returns those added. */
export async function addEdges(q: Queryable, edges: readonly Edge[], actor: string): Promise<Edge[]> {
  if (edges.length === 0) return [];
  for (const e of edges) {
    const p = edgeProblem(e);
    if (p) throw new UsageError(p);
  }
  const added = await q.query<Edge>(
    `insert into catalog_relations (subject_kind, subject_id, relation, object_kind, object_id, via, detail, created_by)
     select sk, si, r, ok, oi, v, d::jsonb, $8
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as t(sk, si, r, ok, oi, v, d)
     on conflict do nothing
     returning subject_kind, subject_id, relation, object_kind, object_id, via, detail`,
    [
      edges.map((e) => e.subject_kind),
      edges.map((e) => e.subject_id),
      edges.map((e) => e.relation),
      edges.map((e) => e.object_kind),
      edges.map((e) => e.object_id),
      edges.map((e) => e.via),
      edges.map((e) => JSON.stringify(e.detail)),
      actor,
    ],
  );
  await recordHistory(
    q,
    added.map((e) => ({ entity: 'relation', entityId: edgeId(e), action: 'create', before: null, after: e })),
    actor,
  );
  return added;
}

export function edgeId(
  e: Pick<Edge, 'subject_kind' | 'subject_id' | 'relation' | 'object_kind' | 'object_id'>,
): string {
  return `${e.subject_kind}:${e.subject_id} ${e.relation} ${e.object_kind}:${e.object_id}`;
}

export async function removeEdge(
  q: Queryable,
  e: Omit<Edge, 'via' | 'detail'>,
  actor: string,
): Promise<void> {
  const gone = await q.maybeOne<Edge>(
    `delete from catalog_relations where subject_kind = $1 and subject_id = $2 and relation = $3
       and object_kind = $4 and object_id = $5
     returning subject_kind, subject_id, relation, object_kind, object_id, via, detail`,
    [e.subject_kind, e.subject_id, e.relation, e.object_kind, e.object_id],
  );
  if (!gone) throw new UsageError(`no relation ${edgeId(e)}`);
  await recordHistory(
    q,
    [{ entity: 'relation', entityId: edgeId(e), action: 'delete', before: gone, after: null }],
    actor,
  );
}

/** Edges touching a node, in both directions. */
export async function edgesOf(q: Queryable, kind: NodeKind, id: string): Promise<EdgeRow[]> {
  return q.query<EdgeRow>(
    `select * from catalog_relations where (subject_kind = $1 and subject_id = $2) or (object_kind = $1 and object_id = $2)
     order by created_at, subject_id`,
    [kind, id],
  );
}

/**
 * Edges without those that touch a file of a project hidden from the caller (`hidden`: project ids,
 * see projects.ts `projectsHiddenFrom`), nor a file that is not known; all of them when nothing is
 * hidden. A visible sample measured by a hidden file must not name that file.
 */
export async function withoutHiddenFiles<T extends Edge>(
  q: Queryable,
  edges: readonly T[],
  hidden: readonly string[],
): Promise<T[]> {
  if (hidden.length === 0) return [...edges];
  const fileIds = edges.flatMap((e) => [
    ...(e.subject_kind === 'file' ? [e.subject_id] : []),
    ...(e.object_kind === 'file' ? [e.object_id] : []),
  ]);
  const projects = await projectsOfFiles(q, [...new Set(fileIds)]);
  const seen = (kind: NodeKind, id: string) => {
    if (kind !== 'file') return true;
    const p = projects.get(id);
    return p !== undefined && !hidden.includes(p);
  };
  return edges.filter((e) => seen(e.subject_kind, e.subject_id) && seen(e.object_kind, e.object_id));
}

/** Edges into a node of one relation (e.g. the files that `measured` a sample, the members of a data set). */
export async function subjectsOf(
  q: Queryable,
  relation: Relation,
  kind: NodeKind,
  ids: readonly string[],
): Promise<EdgeRow[]> {
  return q.query<EdgeRow>(
    `select * from catalog_relations where relation = $1 and object_kind = $2 and object_id = any($3::text[])
     order by subject_kind, subject_id`,
    [relation, kind, ids],
  );
}

/**
 * The graph around a node, both directions, up to `depth` hops (at most `limit` edges): the API's
 * walk. Each edge once, with the hop it was reached at.
 */
export async function walk(
  q: Queryable,
  kind: NodeKind,
  id: string,
  depth: number,
  limit = 1000,
): Promise<(EdgeRow & { hop: number })[]> {
  return q.query(
    `with recursive reach(k, i, hop) as (
       select $1::text, $2::text, 0
       union
       select case when r.subject_kind = reach.k and r.subject_id = reach.i then r.object_kind else r.subject_kind end,
              case when r.subject_kind = reach.k and r.subject_id = reach.i then r.object_id else r.subject_id end,
              reach.hop + 1
       from reach join catalog_relations r
         on (r.subject_kind = reach.k and r.subject_id = reach.i) or (r.object_kind = reach.k and r.object_id = reach.i)
       where reach.hop < $3
     )
     select distinct on (r.subject_kind, r.subject_id, r.relation, r.object_kind, r.object_id) r.*, reach.hop + 1 as hop
     from reach join catalog_relations r
       on (r.subject_kind = reach.k and r.subject_id = reach.i) or (r.object_kind = reach.k and r.object_id = reach.i)
     where reach.hop < $3
     order by r.subject_kind, r.subject_id, r.relation, r.object_kind, r.object_id, reach.hop
     limit $4`,
    [kind, id, depth, limit],
  );
}
