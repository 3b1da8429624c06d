/**
 * Pure: a data set as an RO-Crate (`ro-crate-metadata.json`, RO-Crate 1.1): the root data set, every
 * file with its size and sha256, the samples (with their attributes as PropertyValues), and the
 * processing as provenance in the Process Run Crate style (a CreateAction per job: the software and
 * its settings version as `instrument`, the raw data as `object`).
 */
import type { CatalogFile } from '../files/catalog-reads.ts';
import type { SampleRow } from './samples.ts';

export interface CrateEntry {
  /** The path inside the crate, `data/<file id>/<rel>`. */
  path: string;
  fileId: string;
  size: number;
  sha256: string;
}

export interface CrateJob {
  id: string;
  file_id: string;
  settings_name: string;
  settings_version: number;
  state: string;
  outcome: string | null;
  submitted_at: Date | null;
  finished_at: Date | null;
}

export interface CrateInput {
  name: string;
  description: string;
  exportedAt: Date;
  files: CatalogFile[];
  entries: CrateEntry[];
  samples: SampleRow[];
  measured: Map<string, string[]>;
  jobs: CrateJob[];
}

const sampleId = (refcode: string) => `#sample-${encodeURIComponent(refcode)}`;

export function roCrate(c: CrateInput): object {
  const software = new Map<string, object>();
  const actions = c.jobs.map((j) => {
    const sw = `#software-${encodeURIComponent(j.settings_name)}-v${j.settings_version}`;
    software.set(sw, {
      '@id': sw,
      '@type': 'SoftwareApplication',
      name: j.settings_name,
      version: String(j.settings_version),
    });
    return {
      '@id': `#job-${j.id}`,
      '@type': 'CreateAction',
      name: `${j.settings_name} v${j.settings_version} on ${j.file_id}`,
      instrument: { '@id': sw },
      object: c.entries.filter((e) => e.fileId === j.file_id).map((e) => ({ '@id': e.path })),
      actionStatus:
        j.outcome === 'success'
          ? 'http://schema.org/CompletedActionStatus'
          : 'http://schema.org/FailedActionStatus',
      ...(j.submitted_at ? { startTime: j.submitted_at.toISOString() } : {}),
      ...(j.finished_at ? { endTime: j.finished_at.toISOString() } : {}),
    };
  });
  const byFile = new Map(c.files.map((f) => [f.id, f]));
  const fileEntities = c.entries.map((e) => ({
    '@id': e.path,
    '@type': 'File',
    name: e.path.split('/').pop(),
    contentSize: String(e.size),
    sha256: e.sha256,
    ...(byFile.get(e.fileId) ? { dateCreated: byFile.get(e.fileId)!.created_at.toISOString() } : {}),
    ...(c.measured.get(e.fileId)?.length
      ? { about: c.measured.get(e.fileId)!.map((r) => ({ '@id': sampleId(r) })) }
      : {}),
  }));
  const samples = c.samples.map((s) => ({
    '@id': sampleId(s.refcode),
    '@type': 'Thing',
    additionalType: 'Sample',
    identifier: s.refcode,
    name: s.name,
    ...(s.type ? { category: s.type } : {}),
    additionalProperty: Object.entries(s.attributes).map(([k, v]) => ({
      '@type': 'PropertyValue',
      name: k,
      value: v,
    })),
  }));
  return {
    '@context': 'https://w3id.org/ro/crate/1.1/context',
    '@graph': [
      {
        '@id': 'ro-crate-metadata.json',
        '@type': 'CreativeWork',
        conformsTo: [
          { '@id': 'https://w3id.org/ro/crate/1.1' },
          { '@id': 'https://w3id.org/ro/wfrun/process/0.5' },
        ],
        about: { '@id': './' },
      },
      {
        '@id': './',
        '@type': 'Dataset',
        name: c.name,
        description: c.description || c.name,
        datePublished: c.exportedAt.toISOString(),
        hasPart: c.entries.map((e) => ({ '@id': e.path })),
        mentions: actions.map((a) => ({ '@id': a['@id'] })),
        about: samples.map((s) => ({ '@id': s['@id'] })),
      },
      ...fileEntities,
      ...samples,
      ...actions,
      ...software.values(),
    ],
  };
}
