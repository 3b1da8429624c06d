import { describe, expect, it } from 'vitest';
import { PermanentError } from '../core/errors.ts';
import { buildMzqc, fileFormat, type MzqcRun } from './mzqc.ts';

const now = new Date('2026-12-07T08:00:00Z');
const run = (o: Partial<MzqcRun> = {}): MzqcRun => ({
  fileId: 'r1.raw',
  name: 'r1.raw',
  location: '/backup/astral1/r1.raw',
  kind: 'file',
  members: ['r1.raw'],
  sha256: 'ab'.repeat(32),
  acquiredAt: new Date('2026-12-01T10:00:00Z'),
  settings: { name: 'msqc', version: 2, software: 'msqc', softwareVersion: '1.4' },
  metrics: [
    { name: 'ms1_scans', value: 12_000 },
    { name: 'ms2_scans', value: 80_000 },
    { name: 'ms1_median_tic', value: 1.5e9 },
  ],
  ...o,
});

describe('mzQC', () => {
  it('carries mapped metrics with their terms and units, and names the rest', () => {
    const x = buildMzqc([run()], { now, producer: 'Sluice 0.1.0' });
    const doc = x.document.mzQC;
    expect(doc.version).toBe('1.0.0');
    expect(doc.creationDate).toBe('2026-12-07T08:00:00.000Z');
    expect(doc.runQualities).toHaveLength(1);
    const rq = doc.runQualities[0]!;
    expect(rq.qualityMetrics).toEqual([
      {
        accession: 'MS:4000059',
        name: 'number of MS1 spectra',
        value: 12_000,
        unit: { accession: 'UO:0000189', name: 'count unit' },
      },
      {
        accession: 'MS:4000060',
        name: 'number of MS2 spectra',
        value: 80_000,
        unit: { accession: 'UO:0000189', name: 'count unit' },
      },
    ]);
    expect(rq.metadata.inputFiles[0]).toEqual({
      name: 'r1.raw',
      location: 'file:///backup/astral1/r1.raw',
      fileFormat: { accession: 'MS:1000563', name: 'Thermo RAW format' },
      fileProperties: [
        { accession: 'MS:1000747', name: 'completion time', value: '2026-12-01T10:00:00.000Z' },
        { accession: 'MS:1003151', name: 'SHA-256', value: 'ab'.repeat(32) },
      ],
    });
    expect(rq.metadata.analysisSoftware[0]).toMatchObject({
      accession: 'MS:1000531',
      description: 'msqc',
      version: '1.4',
    });
    expect(x.unmapped).toEqual(['ms1_median_tic']);
    expect(doc.controlledVocabularies.map((v) => v.name)).toContain('Unit Ontology');
  });

  it('never exports a fraction under an integer term, a missing value, or one term twice in a run', () => {
    const x = buildMzqc(
      [
        run({
          settings: { name: 'dia', version: 1, software: 'DIA-NN', softwareVersion: '1.9' },
          metrics: [
            { name: 'proteins_identified', value: 5123.5 },
            { name: 'ms1_scans', value: null },
            { name: 'ms2_scans', value: 10 },
            { name: 'proteins', value: 5000 },
            { name: 'proteins_identified', value: 5100 },
          ],
        }),
      ],
      { now, producer: 'Sluice' },
    );
    const rq = x.document.mzQC.runQualities[0]!;
    expect(rq.qualityMetrics.map((m) => [m.accession, m.value])).toEqual([
      ['MS:4000060', 10],
      ['MS:1003327', 5000],
    ]);
    expect(rq.metadata.analysisSoftware[0]).toMatchObject({
      accession: 'MS:1003253',
      name: 'DIA-NN',
      version: '1.9',
    });
  });

  it('leaves out runs without a mapped metric and refuses when none is left', () => {
    const only = run({ fileId: 'x', metrics: [{ name: 'precursors', value: 1 }] });
    const x = buildMzqc([run(), only], { now, producer: 'Sluice' });
    expect(x.document.mzQC.runQualities).toHaveLength(1);
    expect(x.runsWithoutTerms).toBe(1);
    expect(() => buildMzqc([only], { now, producer: 'Sluice' })).toThrow(/precursors/);
    try {
      buildMzqc([], { now, producer: 'Sluice' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as PermanentError).code).toBe('qc.mzqc_no_metrics');
    }
  });

  it('tells the vendor format from the name and, for a .d folder, its members', () => {
    expect(
      fileFormat({ name: 'a.d', kind: 'folder', members: ['analysis.tdf', 'analysis.tdf_bin'] }).name,
    ).toBe('Bruker TDF format');
    expect(fileFormat({ name: 'a.d', kind: 'folder', members: ['AcqData/MSScan.bin'] }).accession).toBe(
      'MS:1000560',
    );
    expect(fileFormat({ name: 'a.wiff', kind: 'files', members: ['a.wiff', 'a.wiff.scan'] }).name).toBe(
      'ABI WIFF format',
    );
    expect(fileFormat({ name: 'A.mzML', kind: 'file', members: [] }).name).toBe('mzML format');
    expect(
      buildMzqc([run({ location: 's3://bucket/k/r1.raw' })], { now, producer: 'S' }).document.mzQC
        .runQualities[0]!.metadata.inputFiles[0]!.location,
    ).toBe('s3://bucket/k/r1.raw');
  });
});
