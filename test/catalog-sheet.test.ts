/**
 * The CSV fast paths of the samples sheet reader (src/catalog/sheet.ts): `splitPlainCsv` on sheets
 * without quotes, `quotedCsvRecords` on sheets with quoted fields, must give exactly the records
 * csv-parse gives, and leave what they do not read to csv-parse (`csvRecords`: the same records, or
 * the same error).
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvRecords, quotedCsvRecords, readCsv, splitPlainCsv } from '../src/catalog/sheet.ts';

const viaCsvParse = (t: string) => parse(t, { bom: true, relax_column_count: true, skip_empty_lines: true });

describe('splitPlainCsv', () => {
  const sheets = [
    'refcode,name,project\nS1,One,P1\nS2,Two,P1\n',
    'refcode,name,project\nS1,One,P1\nS2,Two,P1',
    '\uFEFFrefcode,name\r\nS1,One\r\n\r\nS2,,\r\n',
    'a,b,c\n\n\n1,,3,4\n,\n5\n',
    'a;b,c d\t,e\n x , y ,\n',
    '',
    '\n\n',
  ];
  it.each(sheets.map((s) => [JSON.stringify(s), s]))('reads %s as csv-parse does', (_, s) => {
    expect(splitPlainCsv(s)).toEqual(viaCsvParse(s));
  });

  it('leaves quotes and mixed line ends to csv-parse', () => {
    expect(splitPlainCsv('a,b\n"x,y",z\n')).toBeNull();
    expect(splitPlainCsv('a,b\r\nx,y\nz,w\r\n')).toBeNull();
    expect(splitPlainCsv('a,b\rx,y\r')).toBeNull();
    // and readCsv still reads them
    expect(readCsv(Buffer.from('refcode,name\n"S,1",x\n')).rows[0]!.cells).toEqual([
      { value: 'S,1' },
      { value: 'x' },
    ]);
  });
});

/** The records `quotedCsvRecords` reads, and whether it read the whole sheet. */
const quick = (t: string) => {
  const out: string[][] = [];
  const it = quotedCsvRecords(t);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) return { out, whole: r.value };
    out.push(r.value);
  }
};

describe('quotedCsvRecords', () => {
  const sheets = [
    'a,b\n"x,y",z\n',
    '"a","b"\r\n"1","2"\r\n',
    'a,b\n"line 1\nline 2",z\n',
    'a,b\r\n"l1\r\nl2",z\r\n',
    'a,b\r\n"l1\nl2",z\r\n',
    'a\n"say ""hi""",x\n""""\n',
    '\uFEFF"refcode",name\nS1,"One"\n',
    'a\n""\n\nb\n\n',
    'a,b,c\n"",,""\n,\n',
    'a,b\n"x",\n',
    'a,b\n"x","y"',
    '"only one field"',
    'a,b\n"tab\tand \\ backslash",ünï 🧪\n',
  ];
  it.each(sheets.map((s) => [JSON.stringify(s), s]))('reads %s whole, as csv-parse does', (_, s) => {
    expect(quick(s)).toEqual({ out: viaCsvParse(s), whole: true });
  });

  // csv-parse reads these otherwise, or refuses them: left to it, from the record met
  const others = [
    ['a,b\r\n"x",y\nz,w\r\n', 1], // mixed line ends
    ['a,b\r"x",y\r', 0], // CR alone
    ['a,b\n"x",y\nz\r,w\n', 2], // a CR inside an unquoted field
    ['a,b\nx"y,z\n', 1], // a quote inside an unquoted field
    ['a,b\n"x"y,z\n', 1], // text after a closing quote
    ['a,b\n "x",y\n', 1], // a space before the opening quote
    ['a,b\n"x,y\n', 1], // never closed
  ] as const;
  it.each(others.map(([s, k]) => [JSON.stringify(s), s, k]))(
    'stops at %s, and csvRecords gives what csv-parse gives',
    (_, s, k) => {
      const { out, whole } = quick(s);
      expect(whole).toBe(false);
      expect(out).toHaveLength(k);
      let expected: string[][] | undefined;
      let error: string | undefined;
      try {
        expected = viaCsvParse(s);
      } catch (err) {
        error = (err as Error).message;
      }
      if (expected) {
        expect(out).toEqual(expected.slice(0, k));
        expect([...csvRecords(s)]).toEqual(expected);
      } else {
        expect(() => [...csvRecords(s)]).toThrow(`the CSV cannot be read: ${error}`);
      }
    },
  );

  it('is what csvRecords reads a quoted sheet with, and readCsv gives its cells', () => {
    const s = 'refcode,name\n"S1","One, two"\n"S2","say ""hi"""\n';
    expect([...csvRecords(s)]).toEqual(viaCsvParse(s));
    expect(readCsv(Buffer.from(s)).rows.map((r) => r.cells)).toEqual([
      [{ value: 'S1' }, { value: 'One, two' }],
      [{ value: 'S2' }, { value: 'say "hi"' }],
    ]);
  });
});
