/**
 * The CSV fast path of the samples sheet reader (src/catalog/sheet.ts `splitPlainCsv`): on sheets
 * without quotes it must give exactly the records csv-parse gives, and leave every other sheet to
 * csv-parse.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readCsv, splitPlainCsv } from '../src/catalog/sheet.ts';

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
