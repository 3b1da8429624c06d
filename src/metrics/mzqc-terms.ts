/**
 * Which of Sluice's metric names are the same quantity as a PSI-MS controlled-vocabulary term, for the
 * mzQC export (`mzqc.ts`). Only exact matches are listed: a term is a claim about what was measured,
 * and a near miss (DIA precursors are not "peptidoforms"; a gradient length is not the chromatography
 * duration in seconds) would make the export lie. Metrics without a term are left out of the export
 * and named beside it. Terms checked against psi-ms.obo data-version 4.1.257.
 */

/** A controlled-vocabulary term: accession and its exact name in the vocabulary. */
export interface CvTerm {
  accession: string;
  name: string;
}

export interface MetricTerm extends CvTerm {
  /** The term's unit (`has_units` in the vocabulary). */
  unit?: CvTerm;
  /** The term's value type is xsd:int: a non-integer value is not exported under it. */
  integer?: boolean;
}

const COUNT: CvTerm = { accession: 'UO:0000189', name: 'count unit' };

const MS1_SPECTRA: MetricTerm = {
  accession: 'MS:4000059',
  name: 'number of MS1 spectra',
  unit: COUNT,
  integer: true,
};
const MS2_SPECTRA: MetricTerm = {
  accession: 'MS:4000060',
  name: 'number of MS2 spectra',
  unit: COUNT,
  integer: true,
};
const PROTEIN_GROUPS: MetricTerm = {
  accession: 'MS:1003327',
  name: 'number of identified protein groups',
  unit: COUNT,
  integer: true,
};

/** Metric name (as the built-in extractors record it) → its term. */
export const METRIC_TERMS: Readonly<Record<string, MetricTerm>> = {
  ms1_scans: MS1_SPECTRA, // MSQC
  ms2_scans: MS2_SPECTRA, // MSQC
  proteins: PROTEIN_GROUPS, // AlphaDIA stat.tsv: protein groups at 1 % FDR
  proteins_identified: PROTEIN_GROUPS, // DIA-NN report.stats.tsv Proteins.Identified
};

/** Input file formats by how the raw data looks (`MS:1000560` "mass spectrometer file format" otherwise). */
export const FILE_FORMATS = {
  thermoRaw: { accession: 'MS:1000563', name: 'Thermo RAW format' },
  brukerTdf: { accession: 'MS:1002817', name: 'Bruker TDF format' },
  sciexWiff: { accession: 'MS:1000562', name: 'ABI WIFF format' },
  mzml: { accession: 'MS:1000584', name: 'mzML format' },
  unknown: { accession: 'MS:1000560', name: 'mass spectrometer file format' },
} as const satisfies Record<string, CvTerm>;

export const SHA256: CvTerm = { accession: 'MS:1003151', name: 'SHA-256' };
export const COMPLETION_TIME: CvTerm = { accession: 'MS:1000747', name: 'completion time' };
/** Analysis software with a term of its own; any other is exported as `MS:1000531` "software". */
export const SOFTWARE_TERMS: Readonly<Record<string, CvTerm>> = {
  diann: { accession: 'MS:1003253', name: 'DIA-NN' },
  'dia-nn': { accession: 'MS:1003253', name: 'DIA-NN' },
};
/** Where the built-in extractors' software is documented (mzQC requires a URI per software). */
export const SOFTWARE_URIS: Readonly<Record<string, string>> = {
  alphadia: 'https://github.com/MannLabs/alphadia',
  diann: 'https://github.com/vdemichev/DiaNN',
  'dia-nn': 'https://github.com/vdemichev/DiaNN',
};
export const SOFTWARE: CvTerm = { accession: 'MS:1000531', name: 'software' };

/** The vocabularies the export's terms come from, as mzQC's `controlledVocabularies` lists them. */
export const VOCABULARIES = [
  {
    name: 'Proteomics Standards Initiative Mass Spectrometry Ontology',
    uri: 'https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/v4.1.257/psi-ms.obo',
    version: '4.1.257',
  },
  {
    name: 'Unit Ontology',
    uri: 'http://purl.obolibrary.org/obo/uo.obo',
  },
];
