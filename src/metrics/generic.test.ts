import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonExtractor, tsvExtractor } from './generic.ts';
import { parseJsonLenient, parsePath, resolvePath } from './jsonpath.ts';
import { captureLog, makeOutputDir, rejection, tsv } from './testing.ts';
import type { MetricValue } from './types.ts';

let out: Awaited<ReturnType<typeof makeOutputDir>>;
beforeEach(async () => {
  out = await makeOutputDir();
});
afterEach(() => out.cleanup());

const values = (ms: MetricValue[]) => Object.fromEntries(ms.map((m) => [m.name, m.value]));

describe('tsv extractor', () => {
  const header = ['Sample Name', 'Total TIC', 'ms2.scans', 'comment'];
  const rows = [
    ['a_01', 1e9, 200, 'ok'],
    ['a_02', 'NaN', 210, 'x'],
    ['a_03', 3e9, '', 'y'],
  ];

  it('default: every numeric column of the first row, names lowercased and cleaned', async () => {
    await out.write('qc/out.tsv', tsv(header, rows));
    const ms = await tsvExtractor.extract(
      { outputDir: out.dir, rawFileName: 'a_02.raw' },
      { file: 'qc/out.tsv' },
    );
    expect(values(ms)).toEqual({ total_tic: 1e9, 'ms2.scans': 200 });
  });

  it('row last / match; NaN and empty → null', async () => {
    await out.write('out.tsv', tsv(header, rows));
    const ctx = { outputDir: out.dir, rawFileName: 'a_02.raw' };
    expect(values(await tsvExtractor.extract(ctx, { file: 'out.tsv', row: 'last' }))).toEqual({
      total_tic: 3e9,
      'ms2.scans': null,
    });
    // match_column alone implies row: 'match'.
    expect(values(await tsvExtractor.extract(ctx, { file: 'out.tsv', match_column: 'Sample Name' }))).toEqual(
      {
        total_tic: null,
        'ms2.scans': 210,
      },
    );
    const err = await rejection(
      tsvExtractor.extract(
        { ...ctx, rawFileName: 'zz.raw' },
        { file: 'out.tsv', match_column: 'Sample Name' },
      ),
    );
    expect(err.code).toBe('metrics.run_not_found');
    expect(err.message).toContain("'a_01', 'a_02', 'a_03'");
    const err2 = await rejection(tsvExtractor.extract(ctx, { file: 'out.tsv', match_column: 'run' }));
    expect(err2.code).toBe('metrics.bad_output');
    expect(err2.message).toMatch(/no column 'run'.*Sample Name/);
  });

  it('columns map source columns to metric names; text cells are left out with a warning', async () => {
    await out.write('out.tsv', tsv(header, rows));
    const log = captureLog();
    const ms = await tsvExtractor.extract(
      { outputDir: out.dir, rawFileName: 'a_01.raw', log },
      { file: 'out.tsv', columns: { 'Total TIC': 'tic', comment: 'comment_value' } },
    );
    expect(ms).toEqual([{ name: 'tic', value: 1e9 }]);
    expect(log.warnings).toHaveLength(1);
    const err = await rejection(
      tsvExtractor.extract(
        { outputDir: out.dir, rawFileName: 'a.raw' },
        { file: 'out.tsv', columns: { Nope: 'n' } },
      ),
    );
    expect(err.code).toBe('metrics.bad_output');
    expect(err.message).toMatch(/no column 'Nope' \(options\.columns\)/);
  });

  it('options are validated with messages naming the option', async () => {
    const ctx = { outputDir: out.dir, rawFileName: 'a.raw' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /options\.file: .*expected string/],
      [{ file: 'x', row: 'middle' }, /options\.row: .*"first"\|"last"\|"match"/],
      [{ file: 'x', row: 'match' }, /options\.match_column: match_column is required/],
      [{ file: 'x', columns: { a: 'Bad Name' } }, /options\.columns\.a: expected a metric name/],
      [{ file: 'x', columns: { a: 'm', b: 'm' } }, /options\.columns: two columns map to the same metric/],
      [{ file: 'x', extra: 1 }, /options: Unrecognized key: "extra"/],
      [{ file: '/etc/passwd' }, /absolute path/],
    ];
    for (const [opts, re] of cases) {
      const err = await rejection(tsvExtractor.extract(ctx, opts));
      expect(err.code, JSON.stringify(opts)).toBe('metrics.bad_options');
      expect(err.message, JSON.stringify(opts)).toMatch(re);
    }
  });

  it('header without rows is bad output', async () => {
    await out.write('out.tsv', 'a\tb\n');
    const err = await rejection(
      tsvExtractor.extract({ outputDir: out.dir, rawFileName: 'a.raw' }, { file: 'out.tsv' }),
    );
    expect(err.message).toMatch(/no data rows/);
  });
});

describe('json paths', () => {
  it('parses dotted, indexed and quoted paths', () => {
    expect(parsePath('summary.precursors')).toEqual(['summary', 'precursors']);
    expect(parsePath('runs[0].fwhm')).toEqual(['runs', 0, 'fwhm']);
    expect(parsePath('runs[-1][2]')).toEqual(['runs', -1, 2]);
    expect(parsePath(`a["b.c"]['d\\'e'].f`)).toEqual(['a', 'b.c', "d'e", 'f']);
    expect(parsePath('[1].x')).toEqual([1, 'x']);
  });

  it('rejects malformed paths with the position', () => {
    for (const p of ['', 'a..b', '.a', 'a.', 'a[', 'a[x]', 'a[0', 'a]b', 'a[0]b', "a['x"]) {
      expect(() => parsePath(p), p).toThrow(/bad path/);
    }
    expect(() => parsePath('a..b')).toThrow(/character 3/);
  });

  it('resolves own properties only', () => {
    const doc = JSON.parse('{"a":{"b":[1,{"c":2}]},"n":null}');
    expect(resolvePath(doc, parsePath('a.b[1].c'))).toEqual({ found: true, value: 2 });
    expect(resolvePath(doc, parsePath('a.b[-2]'))).toEqual({ found: true, value: 1 });
    expect(resolvePath(doc, parsePath('a.b.0'))).toEqual({ found: true, value: 1 });
    expect(resolvePath(doc, parsePath('n'))).toEqual({ found: true, value: null });
    expect(resolvePath(doc, parsePath('a.x.y'))).toEqual({ found: false, missing: 'a.x' });
    expect(resolvePath(doc, parsePath('a.b[5]'))).toEqual({ found: false, missing: 'a.b[5]' });
    for (const p of ['constructor', 'a.__proto__', 'a.toString', 'a.b.length']) {
      expect(resolvePath(doc, parsePath(p)).found, p).toBe(false);
    }
  });

  it("accepts Python's bare NaN/Infinity outside strings only", () => {
    expect(parseJsonLenient('{"a": NaN, "b": -Infinity, "c": "NaN", "d": [Infinity]}')).toEqual({
      a: null,
      b: null,
      c: 'NaN',
      d: [null],
    });
    expect(() => parseJsonLenient('{"a": NaNa}')).toThrow();
  });
});

describe('json extractor', () => {
  const doc = {
    summary: { precursors: 76000, proteins: '5967', fwhm: 'NaN', label: 'hela' },
    runs: [{ fwhm: 3.1 }, { fwhm: 2.9 }],
    'odd.key': { x: 1 },
  };

  it('picks fields by path; missing → null; non-numbers left out', async () => {
    await out.write('res/report.json', JSON.stringify(doc).replace('"NaN"', 'NaN'));
    const log = captureLog();
    const ms = await jsonExtractor.extract(
      { outputDir: out.dir, rawFileName: 'a.raw', log },
      {
        file: 'res/report.json',
        fields: {
          precursors: 'summary.precursors',
          proteins: 'summary.proteins',
          fwhm_rt: 'summary.fwhm',
          'runs.first_fwhm': 'runs[0].fwhm',
          last_fwhm: 'runs[-1].fwhm',
          odd: '["odd.key"].x',
          gone: 'summary.nothing',
          label: 'summary.label',
          whole: 'summary',
        },
      },
    );
    expect(values(ms)).toEqual({
      precursors: 76000,
      proteins: 5967,
      fwhm_rt: null,
      'runs.first_fwhm': 3.1,
      last_fwhm: 2.9,
      odd: 1,
      gone: null,
    });
    expect(log.warnings).toHaveLength(3);
  });

  it('bad JSON, bad options', async () => {
    await out.write('r.json', '{"a": ');
    const ctx = { outputDir: out.dir, rawFileName: 'a.raw' };
    const err = await rejection(jsonExtractor.extract(ctx, { file: 'r.json', fields: { a: 'a' } }));
    expect(err.code).toBe('metrics.bad_output');
    expect(err.message).toMatch(/r\.json: not valid JSON/);
    const opt = await rejection(
      jsonExtractor.extract(ctx, { file: 'r.json', fields: { a: 'a..b', B: 'x' } }),
    );
    expect(opt.code).toBe('metrics.bad_options');
    expect(opt.message).toMatch(/options\.fields\.a: bad path 'a\.\.b'/);
    expect(opt.message).toMatch(/options\.fields\.B: the key 'B' is invalid: expected a metric name/);
    const none = await rejection(jsonExtractor.extract(ctx, { file: 'r.json', fields: {} }));
    expect(none.message).toMatch(/at least one field/);
  });
});
