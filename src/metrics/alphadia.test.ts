import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alphadiaExtractor } from './alphadia.ts';
import { captureLog, FIXTURES, fixtureGrid, makeOutputDir, rejection, tsv } from './testing.ts';
import type { MetricValue } from './types.ts';

let out: Awaited<ReturnType<typeof makeOutputDir>>;
beforeEach(async () => {
  out = await makeOutputDir();
});
afterEach(() => out.cleanup());

const byName = (ms: MetricValue[]) => new Map(ms.map((m) => [m.name, m]));

async function copyFixture(rel: string, to = path.basename(rel)): Promise<void> {
  await out.write(to, await readFile(path.join(FIXTURES, rel), 'utf8'));
}

describe('alphadia extractor on the fixture', () => {
  it('maps every numeric column of the run row; NaN → null; run/channel are not metrics', async () => {
    await copyFixture('alphadia/stat.tsv');
    const grid = await fixtureGrid('alphadia/stat.tsv');
    const row = grid.rows[0]!;
    const cell = (col: string) => row[grid.header.indexOf(col)]!;
    const run = cell('run');

    const metrics = await alphadiaExtractor.extract({ outputDir: out.dir, rawFileName: `${run}.raw` }, {});
    const m = byName(metrics);

    expect(typeof m.get('precursors')?.value).toBe('number');
    expect(m.get('precursors')?.value).toBe(Number(cell('precursors')));
    expect(m.get('proteins')?.value).toBe(Number(cell('proteins')));
    expect(m.get('optimization.ms2_error')?.value).toBe(Number(cell('optimization.ms2_error')));
    expect(m.get('optimization.ms2_error')?.unit).toBe('ppm');
    expect(m.has('run')).toBe(false);
    expect(m.has('channel')).toBe(false);
    // Every other column is a metric; NaN cells are null, others equal the cell.
    const expected = grid.header.filter((h) => h !== 'run' && h !== 'channel');
    expect(metrics.map((x) => x.name).sort()).toEqual(expected.map((h) => h.toLowerCase()).sort());
    const nanCols = expected.filter((h) => cell(h) === 'NaN');
    expect(nanCols.length).toBeGreaterThan(0); // the fixture has some; the generated test below covers it too
    for (const h of expected) {
      expect(m.get(h.toLowerCase())?.value, h).toBe(cell(h) === 'NaN' ? null : Number(cell(h)));
    }
  });

  it('adds internal.tsv durations with the internal. prefix when present', async () => {
    await copyFixture('alphadia/stat.tsv');
    await copyFixture('alphadia/internal.tsv');
    const grid = await fixtureGrid('alphadia/internal.tsv');
    const run = grid.rows[0]![0]!;
    const m = byName(await alphadiaExtractor.extract({ outputDir: out.dir, rawFileName: `${run}.raw` }, {}));
    for (const h of grid.header.slice(1)) {
      expect(m.get(`internal.${h}`)?.value, h).toBe(Number(grid.rows[0]![grid.header.indexOf(h)]));
    }
    expect(m.has('internal.run')).toBe(false);
  });
});

describe('alphadia extractor on generated output', () => {
  const header = [
    'run',
    'channel',
    'precursors',
    'Proteins',
    'fwhm_rt',
    'optimization.ms1_error',
    'new.column',
  ];
  const row = (run: string, ch: number, p: number | string) => [
    run,
    ch,
    p,
    p === 'NaN' ? 'nan' : 10,
    3,
    'NaN',
    1.5,
  ];

  it('picks the row of the raw file among several runs; names lowercased; NaN/nan → null', async () => {
    await out.write(
      'stat.tsv',
      tsv(header, [row('s_01', 0, 1000), row('s_02', 0, 2000), row('s_03', 0, 'NaN')], '\r\n'),
    );
    const get = async (raw: string) =>
      byName(await alphadiaExtractor.extract({ outputDir: out.dir, rawFileName: raw }, {}));
    expect((await get('s_02.raw')).get('precursors')?.value).toBe(2000);
    expect((await get('s_01.d')).get('precursors')?.value).toBe(1000);
    const s3 = await get('s_03.wiff');
    expect(s3.get('precursors')?.value).toBeNull();
    expect(s3.get('proteins')?.value).toBeNull();
    expect(s3.get('optimization.ms1_error')).toEqual({
      name: 'optimization.ms1_error',
      value: null,
      unit: 'ppm',
    });
    expect(s3.get('new.column')?.value).toBe(1.5);
  });

  it('no row for the run → metrics.run_not_found listing the runs', async () => {
    await out.write('stat.tsv', tsv(header, [row('s_01', 0, 1), row('s_02', 0, 2)]));
    const err = await rejection(
      alphadiaExtractor.extract({ outputDir: out.dir, rawFileName: 'other.raw' }, {}),
    );
    expect(err.code).toBe('metrics.run_not_found');
    expect(err.message).toContain("'other'");
    expect(err.message).toContain("'s_01', 's_02'");
    expect(err.message).toContain(path.join(out.dir, 'stat.tsv'));
  });

  it('a single row is used even if its run differs (with a warning)', async () => {
    await out.write('stat.tsv', tsv(header, [row('renamed', 0, 42)]));
    const log = captureLog();
    const m = byName(
      await alphadiaExtractor.extract({ outputDir: out.dir, rawFileName: 'orig.raw', log }, {}),
    );
    expect(m.get('precursors')?.value).toBe(42);
    expect(log.warnings).toHaveLength(1);
  });

  it('multiplexed runs: lowest channel by default, or the channel asked for', async () => {
    await out.write('stat.tsv', tsv(header, [row('s', 8, 800), row('s', 4, 400), row('t', 0, 1)]));
    const ctx = { outputDir: out.dir, rawFileName: 's.raw' };
    expect(byName(await alphadiaExtractor.extract(ctx, {})).get('precursors')?.value).toBe(400);
    expect(byName(await alphadiaExtractor.extract(ctx, { channel: 8 })).get('precursors')?.value).toBe(800);
    const err = await rejection(alphadiaExtractor.extract(ctx, { channel: 12 }));
    expect(err.code).toBe('metrics.run_not_found');
    expect(err.message).toMatch(/channel 12.*8, 4/);
  });

  it('file option: another path; internal.tsv beside it; internal_file: false skips it', async () => {
    await out.write('sub/my_stat.tsv', tsv(header, [row('s', 0, 7)]));
    await out.write('sub/internal.tsv', tsv(['run', 'duration_total'], [['s', 2.5]]));
    const ctx = { outputDir: out.dir, rawFileName: 's.raw' };
    const m = byName(await alphadiaExtractor.extract(ctx, { file: 'sub/my_stat.tsv' }));
    expect(m.get('precursors')?.value).toBe(7);
    expect(m.get('internal.duration_total')?.value).toBe(2.5);
    const m2 = byName(
      await alphadiaExtractor.extract(ctx, { file: 'sub/my_stat.tsv', internal_file: false }),
    );
    expect(m2.has('internal.duration_total')).toBe(false);
  });

  it('a broken or unrelated internal.tsv is skipped with a warning, not fatal', async () => {
    await out.write('stat.tsv', tsv(header, [row('s', 0, 7), row('t', 0, 8)]));
    const ctx = { outputDir: out.dir, rawFileName: 's.raw', log: captureLog() };
    await out.write('internal.tsv', 'run\tduration_total\ns\t1\t2\n');
    expect(byName(await alphadiaExtractor.extract(ctx, {})).get('precursors')?.value).toBe(7);
    await out.write(
      'internal.tsv',
      tsv(
        ['run', 'duration_total'],
        [
          ['x', 1],
          ['y', 2],
        ],
      ),
    );
    const m = byName(await alphadiaExtractor.extract(ctx, {}));
    expect([...m.keys()].some((k) => k.startsWith('internal.'))).toBe(false);
    expect(ctx.log.warnings.map((w) => w.msg)).toHaveLength(2);
  });

  it('missing stat.tsv, malformed stat.tsv, bad options', async () => {
    const ctx = { outputDir: out.dir, rawFileName: 's.raw' };
    expect((await rejection(alphadiaExtractor.extract(ctx, {}))).code).toBe('metrics.output_missing');
    await out.write('stat.tsv', 'run\tprecursors\ns\t1\nt\n');
    const bad = await rejection(alphadiaExtractor.extract(ctx, {}));
    expect(bad.code).toBe('metrics.bad_output');
    expect(bad.message).toMatch(/stat\.tsv: line 3:/);
    const opt = await rejection(alphadiaExtractor.extract(ctx, { fiel: 'x.tsv', channel: 'one' }));
    expect(opt.code).toBe('metrics.bad_options');
    expect(opt.message).toContain('options.channel');
    expect(opt.message).toContain('fiel');
    const esc = await rejection(alphadiaExtractor.extract(ctx, { file: '../../etc/passwd' }));
    expect(esc.code).toBe('metrics.bad_options');
    expect(esc.message).toMatch(/outside the output folder/);
  });
});
