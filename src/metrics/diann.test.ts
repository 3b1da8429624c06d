import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diannExtractor, diannMetricName, runStem } from './diann.ts';
import { loadExtractor } from './registry.ts';
import { captureLog, FIXTURES, fixtureGrid, makeOutputDir, rejection } from './testing.ts';
import type { MetricValue } from './types.ts';

let out: Awaited<ReturnType<typeof makeOutputDir>>;
beforeEach(async () => {
  out = await makeOutputDir();
});
afterEach(() => out.cleanup());

const byName = (ms: MetricValue[]) => new Map(ms.map((m) => [m.name, m]));
const FIXTURE = 'diann/report.stats.tsv';

async function copyFixture(to = 'report.stats.tsv'): Promise<void> {
  await out.write(to, await readFile(path.join(FIXTURES, FIXTURE), 'utf8'));
}

describe('diann extractor', () => {
  it('is a built-in type', async () => {
    expect(await loadExtractor({ type: 'diann' }, '/')).toBe(diannExtractor);
  });

  it("picks the run's row by the stem of File.Name (POSIX and Windows paths) and maps every numeric column", async () => {
    await copyFixture();
    const grid = await fixtureGrid(FIXTURE);
    for (const row of grid.rows) {
      const cell = (col: string) => row[grid.header.indexOf(col)]!;
      const stem = runStem(cell('File.Name'));
      // The raw file may carry another extension than the one DIA-NN read (converted .mzML, .d folder).
      const m = byName(await diannExtractor.extract({ outputDir: out.dir, rawFileName: `${stem}.d` }, {}));
      expect(m.get('precursors_identified')?.value).toBe(Number(cell('Precursors.Identified')));
      expect(m.get('proteins_identified')?.value).toBe(Number(cell('Proteins.Identified')));
      expect(m.get('fwhm_rt')).toEqual({ name: 'fwhm_rt', value: Number(cell('FWHM.RT')), unit: 'min' });
      expect(m.get('median_mass_acc_ms1')?.unit).toBe('ppm');
      expect(m.get('median_mass_acc_ms2_corrected')?.unit).toBe('ppm');
      expect(m.has('file_name')).toBe(false);
      const expected = grid.header.filter((h) => h !== 'File.Name').map(diannMetricName);
      expect([...m.keys()].sort()).toEqual(expected.sort());
      for (const h of grid.header.filter((x) => x !== 'File.Name')) {
        const raw = cell(h);
        expect(m.get(diannMetricName(h))?.value, h).toBe(raw.toLowerCase() === 'nan' ? null : Number(raw));
      }
    }
  });

  it('stems paths of either separator', () => {
    expect(runStem('D:\\Data\\timsTOF\\run_03.d')).toBe('run_03');
    expect(runStem('/scratch/x/run_01.mzML')).toBe('run_01');
    expect(runStem('run_02.raw')).toBe('run_02');
  });

  it('names the runs present when this run is missing', async () => {
    await copyFixture();
    const err = await rejection(
      diannExtractor.extract({ outputDir: out.dir, rawFileName: 'other_run.raw' }, {}),
    );
    expect(err.message).toMatch(/no row whose File\.Name is the run 'other_run'/);
    expect(err.message).toMatch(/20261201_AST1_QC_HeLa_200ng_01\.raw/);
  });

  it('refuses a table without File.Name and says what to use instead', async () => {
    await out.write('report.stats.tsv', 'Run\tPrecursors.Identified\nx\t10\n');
    const err = await rejection(diannExtractor.extract({ outputDir: out.dir, rawFileName: 'x.raw' }, {}));
    expect(err.message).toMatch(/no 'File\.Name' column/);
  });

  it('reads another file name and rejects unknown options', async () => {
    await copyFixture('diann/out.stats.tsv');
    const ms = await diannExtractor.extract(
      { outputDir: out.dir, rawFileName: '20261201_AST1_QC_HeLa_200ng_02.raw' },
      { file: 'diann/out.stats.tsv' },
    );
    expect(ms.length).toBeGreaterThan(10);
    const err = await rejection(
      diannExtractor.extract({ outputDir: out.dir, rawFileName: 'x.raw' }, { fil: 'a' }),
    );
    expect(err.message).toMatch(/fil/);
  });

  it('warns and takes the first row when a run appears twice', async () => {
    await out.write('report.stats.tsv', 'File.Name\tPrecursors.Identified\n/a/r1.raw\t10\n/b/r1.raw\t11\n');
    const log = captureLog();
    const ms = await diannExtractor.extract({ outputDir: out.dir, rawFileName: 'r1.raw', log }, {});
    expect(ms).toEqual([{ name: 'precursors_identified', value: 10 }]);
    expect(log.warnings.length).toBe(1);
  });
});
