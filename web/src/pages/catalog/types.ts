/** The catalog API's answers as the dashboard reads them (issue #22; see src/api/routes/catalog.ts). */
export interface ApiProject {
  id: string;
  name: string;
  in_config: boolean;
  visibility: 'all' | 'members';
  members: string[];
}

export interface ApiSample {
  refcode: string;
  name: string;
  project_id: string;
  type: string | null;
  attributes: Record<string, unknown>;
}

export interface ApiCatalogFile {
  id: string;
  name: string;
  instrument_id: string;
  project_id: string;
  status: string;
  size_bytes: string | number;
  created_at: string;
}

export interface ApiSampleDetail {
  sample: ApiSample & { created_by: string; updated_by: string | null };
  files: (ApiCatalogFile & {
    jobs: {
      id: string;
      settings_name: string;
      settings_version: number;
      state: string;
      outcome: string | null;
      finished_at: string | null;
    }[];
    metrics: {
      settings_name: string;
      settings_version: number;
      name: string;
      value: number | null;
      unit: string | null;
    }[];
  })[];
  relations: {
    subject_kind: string;
    subject_id: string;
    relation: string;
    object_kind: string;
    object_id: string;
    via: string;
  }[];
  history: { id: string; at: string; actor: string; action: string; before: unknown; after: unknown }[];
}

export interface ApiImportReport {
  created: { row: number; refcode: string }[];
  updated: { row: number; refcode: string; changed: string[] }[];
  unchanged: { row: number; refcode: string }[];
  rejected: { row: number; refcode: string | null; reasons: string[] }[];
  written: boolean;
  /** Samples were written: search finds them by words once the catalog.index task has run. */
  indexing: boolean;
  dryRun: boolean;
  linked?: number;
}

export interface ApiDataset {
  id: string;
  name: string;
  description: string;
  project_id: string | null;
  created_by: string;
  created_at: string;
}

export interface ApiDatasetContents {
  dataset: ApiDataset;
  samples: ApiSample[];
  files: ApiCatalogFile[];
  measured: Record<string, string[]>;
}

export interface ApiSearch {
  samples: ApiSample[];
  files: ApiCatalogFile[];
  projects: { id: string; name: string }[];
}
