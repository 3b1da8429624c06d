import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixtureGrid, makeOutputDir, rejection, thrown, tsv } from './testing.ts';
import { cellNumber, numericColumns, parseCell, parseTsv, readTsv } from './tsv.ts';

let out: Awaited<ReturnType<typeof makeOutputDir>>;
beforeAll(async () => {
  out = await makeOutputDir();
});
afterAll(() => out.cleanup());

describe('parseCell', () => {
  it('numbers, missing markers and text', () => {
    for (const s of ['0', '76334', '-1.000000', '3.5e-3', '+2', '.5', '1.', ' 7 ']) {
      expect(parseCell(s)).toEqual({ kind: 'number', value: Number(s) });
    }
    for (const s of ['', ' ', 'NaN', 'nan', 'NA', 'None', 'inf', '-inf', 'Infinity', '1e999']) {
      expect(parseCell(s).kind, s).toBe('missing');
    }
    for (const s of ['abc', '0x10', '1_000', '1,5', 'True', '12abc', '20231017_OA2_run']) {
      expect(parseCell(s).kind, s).toBe('text');
    }
    expect(cellNumber('NaN')).toBeNull();
    expect(cellNumber('x')).toBeUndefined();
    expect(cellNumber(undefined)).toBeNull();
  });
});

describe('parseTsv', () => {
  it('reads header and rows; \\r\\n, BOM and trailing blank lines', () => {
    const text = '\ufeffa\tb.c\tname\r\n1\tNaN\tx\r\n2.5\t\ty\r\n\r\n\r\n';
    const t = parseTsv(text, 'f.tsv');
    expect(t.header).toEqual(['a', 'b.c', 'name']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['1', 'NaN', 'x'],
      ['2.5', '', 'y'],
    ]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3]);
    expect(numericColumns(t).map((i) => t.header[i])).toEqual(['a', 'b.c']);
  });

  it('handles quoted cells with tabs, quotes and newlines, and keeps line numbers right', () => {
    const text = 'a\tb\n"x\ty"\t"say ""hi"""\n"multi\nline"\t3\n4\t5\t\n';
    const t = parseTsv(text, 'q.tsv');
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['x\ty', 'say "hi"'],
      ['multi\nline', '3'],
      ['4', '5'],
    ]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3, 5]);
  });

  it('a row with the wrong number of columns names file and line', () => {
    for (const [bad, extra] of [
      [4, 1],
      [7, 2],
      [2, 0],
    ] as const) {
      const rows = Array.from({ length: 6 }, (_, i) => [i, i * 2, i * 3]);
      // Row index `bad - 2` (line `bad`) gets the wrong width.
      rows[bad - 2] = extra ? [...rows[bad - 2]!, ...Array(extra).fill(9)] : [1, 2];
      const err = thrown(() => parseTsv(tsv(['a', 'b', 'c'], rows), '/out/stat.tsv'));
      expect(err.code).toBe('metrics.bad_output');
      expect(err.message).toContain('/out/stat.tsv');
      expect(err.message).toContain(`line ${bad}:`);
      expect(err.message).toMatch(/header \(line 1\) has 3/);
    }
  });

  it('missing header, duplicate columns, unclosed quote, comma-separated file', () => {
    for (const empty of ['', '\n\n', '\r\n  \r\n']) {
      const err = thrown(() => parseTsv(empty, 'empty.tsv'));
      expect(err.code).toBe('metrics.bad_output');
      expect(err.message).toMatch(/empty\.tsv: no header row/);
    }
    expect(thrown(() => parseTsv('a\tb\ta\n1\t2\t3\n', 'd.tsv')).message).toMatch(
      /d\.tsv: line 1: column 'a' appears twice/,
    );
    expect(thrown(() => parseTsv('a\tb\n1\t"open\n', 'u.tsv')).message).toMatch(
      /u\.tsv: line 2: .*never closed/,
    );
    expect(thrown(() => parseTsv('a,b,c\n1,2,3\n', 'c.tsv')).message).toMatch(/comma-separated/);
  });

  it('header-only file has no rows', () => {
    expect(parseTsv('a\tb\n', 'h.tsv').rows).toEqual([]);
  });

  it('a column with any text cell is not numeric', () => {
    const t = parseTsv(
      tsv(
        ['n', 'mixed', 'empty'],
        [
          [1, 2, ''],
          [3, 'oops', ''],
        ],
      ),
      'm.tsv',
    );
    expect(numericColumns(t).map((i) => t.header[i])).toEqual(['n', 'empty']);
  });

  it('parses every fixture consistently with a naive split', async () => {
    for (const rel of ['alphadia/stat.tsv', 'alphadia/internal.tsv', 'msqc/msqc_results.tsv']) {
      const grid = await fixtureGrid(rel);
      const t = await readTsv(path.join(FIXTURES, rel));
      expect(t.header).toEqual(grid.header.map((h) => h.trim()));
      expect(t.rows.map((r) => r.cells)).toEqual(grid.rows);
    }
  });
});

describe('readTsv', () => {
  it('missing file → metrics.output_missing naming the file; a folder → bad_output', async () => {
    const missing = path.join(out.dir, 'nope.tsv');
    const err = await rejection(readTsv(missing));
    expect(err.code).toBe('metrics.output_missing');
    expect(err.message).toContain(missing);
    const err2 = await rejection(readTsv(out.dir));
    expect(err2.code).toBe('metrics.bad_output');
  });

  it('reads a generated file with \\r\\n line ends', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => [`run_${i}`, i % 7 === 0 ? 'NaN' : i * 1.5]);
    const file = await out.write('gen/big.tsv', tsv(['run', 'value'], rows, '\r\n'));
    const t = await readTsv(file);
    expect(t.rows).toHaveLength(50);
    expect(t.rows.map((r) => cellNumber(r.cells[1]))).toEqual(
      rows.map((r) => (r[1] === 'NaN' ? null : r[1])),
    );
  });
});
