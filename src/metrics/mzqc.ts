/**
 * mzQC (HUPO-PSI's JSON format for mass-spectrometry QC metrics, schema 1.0.0) from recorded metrics:
 * a pure function from runs to the document. One `runQuality` per raw data file and processing
 * settings (the software that computed the metrics), carrying only metrics that have a PSI-MS term
 * (`mzqc-terms.ts`); the names left out are returned beside the document so the caller can say so.
 * The I/O shell that reads the runs is `src/views/mzqc.ts`.
 */
import { pathToFileURL } from 'node:url';
import { PermanentError } from '../core/errors.ts';
import {
  COMPLETION_TIME,
  type CvTerm,
  FILE_FORMATS,
  METRIC_TERMS,
  SHA256,
  SOFTWARE,
  SOFTWARE_TERMS,
  SOFTWARE_URIS,
  VOCABULARIES,
} from './mzqc-terms.ts';

/** One raw data file's metrics from one processing settings version. */
export interface MzqcRun {
  fileId: string;
  /** The raw data's name (a file, a `.d` folder, a Sciex set's main file). */
  name: string;
  /** Where it is: a path (made a file:// URI) or a URI (s3://…). */
  location: string;
  kind: 'file' | 'folder' | 'files';
  /** Member paths of the raw data (to tell a Bruker TDF `.d` from another vendor's). */
  members: string[];
  /** The whole file's SHA-256 (single-file raw data only). */
  sha256: string | null;
  /** When the acquisition was seen finished. */
  acquiredAt: Date | null;
  settings: { name: string; version: number; software: string; softwareVersion: string };
  metrics: { name: string; value: number | null }[];
}

interface CvParameter extends CvTerm {
  value?: unknown;
  unit?: CvTerm;
  description?: string;
}

export interface MzqcDocument {
  mzQC: {
    version: '1.0.0';
    creationDate: string;
    description: string;
    contactName?: string;
    runQualities: {
      metadata: {
        label: string;
        inputFiles: { name: string; location: string; fileFormat: CvTerm; fileProperties?: CvParameter[] }[];
        analysisSoftware: (CvParameter & { version: string; uri: string })[];
      };
      qualityMetrics: CvParameter[];
    }[];
    controlledVocabularies: { name: string; uri: string; version?: string }[];
  };
}

export interface MzqcExport {
  document: MzqcDocument;
  /** Metric names recorded for these runs that have no PSI-MS term (left out), sorted. */
  unmapped: string[];
  /** Runs whose metrics had no term at all (left out). */
  runsWithoutTerms: number;
}

/** The mzQC document of `runs`; refuses (PermanentError `qc.mzqc_*`) when not one metric of them has a term. */
export function buildMzqc(runs: readonly MzqcRun[], o: { now: Date; producer: string }): MzqcExport {
  const unmapped = new Set<string>();
  const runQualities: MzqcDocument['mzQC']['runQualities'] = [];
  for (const run of runs) {
    const qualityMetrics: CvParameter[] = [];
    for (const m of run.metrics) {
      const term = Object.hasOwn(METRIC_TERMS, m.name) ? METRIC_TERMS[m.name] : undefined;
      if (!term) {
        unmapped.add(m.name);
        continue;
      }
      if (m.value === null || !Number.isFinite(m.value)) continue;
      if (term.integer && !Number.isInteger(m.value)) continue;
      if (qualityMetrics.some((q) => q.accession === term.accession)) continue;
      qualityMetrics.push({
        accession: term.accession,
        name: term.name,
        value: m.value,
        ...(term.unit ? { unit: term.unit } : {}),
      });
    }
    if (qualityMetrics.length === 0) continue;
    runQualities.push({
      metadata: {
        label: `${run.name} · ${run.settings.name} v${run.settings.version}`,
        inputFiles: [inputFile(run)],
        analysisSoftware: [software(run.settings)],
      },
      qualityMetrics,
    });
  }
  if (runQualities.length === 0) {
    const names = [...unmapped].sort();
    if (runs.length === 0)
      throw new PermanentError(
        'qc.mzqc_no_metrics',
        'no metrics are recorded for the chosen files',
        'choose files that were processed (`sluice files show ID` lists their metrics), or a wider date range',
      );
    throw new PermanentError(
      'qc.mzqc_no_terms',
      `none of the metrics of the chosen files has a PSI-MS term (${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''})`,
      'mzQC carries only metrics with a controlled-vocabulary term; docs/qc.md lists the ones Sluice maps',
    );
  }
  return {
    document: {
      mzQC: {
        version: '1.0.0',
        creationDate: o.now.toISOString(),
        description: `QC metrics of ${runQualities.length} run(s), exported by ${o.producer}`,
        contactName: o.producer,
        runQualities,
        controlledVocabularies: VOCABULARIES,
      },
    },
    unmapped: [...unmapped].sort(),
    runsWithoutTerms: runs.length - runQualities.length,
  };
}

function inputFile(
  run: MzqcRun,
): MzqcDocument['mzQC']['runQualities'][number]['metadata']['inputFiles'][number] {
  const fileProperties: CvParameter[] = [];
  if (run.acquiredAt) fileProperties.push({ ...COMPLETION_TIME, value: run.acquiredAt.toISOString() });
  if (run.sha256) fileProperties.push({ ...SHA256, value: run.sha256 });
  return {
    name: run.name,
    location: /^[a-z][a-z0-9+.-]*:\/\//i.test(run.location) ? run.location : pathToFileURL(run.location).href,
    fileFormat: fileFormat(run),
    ...(fileProperties.length > 0 ? { fileProperties } : {}),
  };
}

/** The vendor format as far as the name and members tell it; the generic term otherwise. */
export function fileFormat(run: Pick<MzqcRun, 'name' | 'kind' | 'members'>): CvTerm {
  const name = run.name.toLowerCase();
  if (run.kind === 'file' && name.endsWith('.raw')) return FILE_FORMATS.thermoRaw;
  if (run.kind === 'file' && name.endsWith('.mzml')) return FILE_FORMATS.mzml;
  if (run.kind === 'folder' && name.endsWith('.d') && run.members.some((m) => /(^|\/)analysis\.tdf$/.test(m)))
    return FILE_FORMATS.brukerTdf;
  if (name.endsWith('.wiff') || name.endsWith('.wiff2')) return FILE_FORMATS.sciexWiff;
  return FILE_FORMATS.unknown;
}

function software(s: MzqcRun['settings']): CvParameter & { version: string; uri: string } {
  const key = s.software.toLowerCase();
  const term = Object.hasOwn(SOFTWARE_TERMS, key) ? SOFTWARE_TERMS[key]! : SOFTWARE;
  const uri = Object.hasOwn(SOFTWARE_URIS, key)
    ? SOFTWARE_URIS[key]!
    : `urn:sluice:software:${encodeURIComponent(s.software)}`;
  return {
    ...term,
    ...(term === SOFTWARE ? { description: s.software } : {}),
    version: s.softwareVersion,
    uri,
  };
}
