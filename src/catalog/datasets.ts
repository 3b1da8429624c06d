/**
 * Data sets: named collections (a study, a submission) of samples and raw data files. Membership is
 * the edge `sample|file part_of dataset`; every change has its history. Owns `datasets`.
 */
import type { Queryable } from '../core/db/db.ts';
import { SluiceError, UsageError } from '../core/errors.ts';
import { type CatalogFile, catalogFiles } from '../files/catalog-reads.ts';
import { recordHistory } from './history.ts';
import { requireProject } from './projects.ts';
import { addEdges, type Edge, subjectsOf } from './relations.ts';
import { existingRefcodes, listSamplesByRefcode, type SampleRow } from './samples.ts';

export interface DatasetRow {
  id: string;
  name: string;
  description: string;
  project_id: string | null;
  created_by: string;
  created_at: Date;
}

export const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export async function createDataset(
  q: Queryable,
  d: { name: string; description?: string; project?: string },
  actor: string,
): Promise<DatasetRow> {
  if (!DATASET_NAME.test(d.name)) {
    throw new UsageError(
      `data set name '${d.name}' is not allowed: expected letters, digits, '.', '_' and '-' (at most 128)`,
    );
  }
  if (d.project !== undefined) await requireProject(q, d.project);
  const row = await q.maybeOne<DatasetRow>(
    `insert into datasets (name, description, project_id, created_by) values ($1, $2, $3, $4)
     on conflict (name) do nothing returning *`,
    [d.name, d.description ?? '', d.project ?? null, actor],
  );
  if (!row) throw new UsageError(`a data set named '${d.name}' exists already`, 'choose another name');
  await recordHistory(
    q,
    [{ entity: 'dataset', entityId: row.id, action: 'create', before: null, after: d }],
    actor,
  );
  return row;
}

export async function listDatasets(q: Queryable, hidden: readonly string[]): Promise<DatasetRow[]> {
  return q.query<DatasetRow>(
    'select * from datasets where project_id is null or project_id <> all($1::text[]) order by name',
    [hidden],
  );
}

/** A data set by name (or id), unless it belongs to a hidden project. */
export async function requireDataset(
  q: Queryable,
  nameOrId: string,
  hidden: readonly string[] = [],
): Promise<DatasetRow> {
  const d = await q.maybeOne<DatasetRow>(
    `select * from datasets where (name = $1 or id::text = $1) and (project_id is null or project_id <> all($2::text[]))`,
    [nameOrId, hidden],
  );
  if (!d) {
    throw new SluiceError('catalog.not_found', `no data set '${nameOrId}'`, {
      hint: 'list data sets with `sluice datasets list`',
      exitCode: 2,
      status: 404,
    });
  }
  return d;
}

/** Adds samples and files (those already in it are left); unknown ones are refused, naming them. */
export async function addToDataset(
  q: Queryable,
  dataset: DatasetRow,
  members: { samples?: readonly string[]; files?: readonly string[] },
  actor: string,
  hidden: readonly string[] = [],
): Promise<number> {
  const samples = [...new Set(members.samples ?? [])];
  const files = [...new Set(members.files ?? [])];
  const knownS = await existingRefcodes(q, samples, hidden);
  const knownF = new Set((await catalogFiles(q, files, hidden)).map((f) => f.id));
  const unknown = [
    ...samples.filter((s) => !knownS.has(s)).map((s) => `sample '${s}'`),
    ...files.filter((f) => !knownF.has(f)).map((f) => `file '${f}'`),
  ];
  if (unknown.length > 0)
    throw new UsageError(`not found: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ' …' : ''}`);
  const edge = (kind: 'sample' | 'file', id: string): Edge => ({
    subject_kind: kind,
    subject_id: id,
    relation: 'part_of',
    object_kind: 'dataset',
    object_id: dataset.id,
    via: 'manual',
    detail: {},
  });
  const added = await addEdges(
    q,
    [...samples.map((s) => edge('sample', s)), ...files.map((f) => edge('file', f))],
    actor,
  );
  return added.length;
}

export interface DatasetContents {
  dataset: DatasetRow;
  samples: SampleRow[];
  /** The data set's files, and the raw data that `measured` its samples. */
  files: CatalogFile[];
  /** file id → refcodes it measured. */
  measured: Map<string, string[]>;
}

/** What a data set holds: its samples, its files and the files that measured its samples. */
export async function datasetContents(
  q: Queryable,
  dataset: DatasetRow,
  hidden: readonly string[],
): Promise<DatasetContents> {
  const members = await subjectsOf(q, 'part_of', 'dataset', [dataset.id]);
  const refcodes = members.filter((m) => m.subject_kind === 'sample').map((m) => m.subject_id);
  const samples = await listSamplesByRefcode(q, refcodes, hidden);
  const links = await subjectsOf(
    q,
    'measured',
    'sample',
    samples.map((s) => s.refcode),
  );
  const measured = new Map<string, string[]>();
  for (const l of links) measured.set(l.subject_id, [...(measured.get(l.subject_id) ?? []), l.object_id]);
  const fileIds = [
    ...new Set([
      ...members.filter((m) => m.subject_kind === 'file').map((m) => m.subject_id),
      ...measured.keys(),
    ]),
  ];
  const files = await catalogFiles(q, fileIds, hidden);
  return { dataset, samples, files, measured };
}
