/**
 * Reads a samples sheet (CSV or XLSX) into a header and numbered rows of cells, as a spreadsheet
 * shows them (the header is row 1). Problems a row cannot be imported with (a formula, a cell too
 * large, text that is not UTF-8, an error value) are kept on the cell, for the import's per-row
 * report; problems with the sheet as a whole (no header, a column named twice) are thrown.
 */
import { parse } from 'csv-parse/sync';
import { UsageError } from '../core/errors.ts';

/** Larger cells are refused (a sheet is metadata; a 5 MB cell is a paste gone wrong). */
export const MAX_CELL_CHARS = 65_536;

export type Cell = { value: string | number | boolean | null } | { problem: string };

export interface SheetRow {
  /** As the spreadsheet numbers it: the header is row 1. */
  row: number;
  cells: Cell[];
}

export interface Sheet {
  header: string[];
  rows: SheetRow[];
}

/** A sheet whose rows may be read as they are needed (`rows`: one pass, in order). */
export interface SheetStream {
  header: string[];
  rows: Iterable<SheetRow>;
}

const NOT_UTF8 =
  "text that is not UTF-8 (bytes shown as �): save the sheet as 'CSV UTF-8' and import it again";

const NUL_CHAR = 'a NUL character (byte 0), which text cannot hold: remove it from the cell';

function textCell(s: string, badBytes: boolean): Cell {
  if (badBytes && s.includes('\uFFFD')) return { problem: NOT_UTF8 };
  if (s.includes('\0')) return { problem: NUL_CHAR };
  if (s.length > MAX_CELL_CHARS) {
    return {
      problem: `a cell of ${s.length.toLocaleString('en')} characters (at most ${MAX_CELL_CHARS.toLocaleString('en')})`,
    };
  }
  const v = s.trim();
  return v === '' ? NO_VALUE : { value: v };
}

/** An empty cell (shared: cells are not changed once read). */
const NO_VALUE: Cell = { value: null };

/** The header's names, checked: none empty, none twice. */
function checkHeader(names: string[]): string[] {
  const header = names.map((h) => h.trim());
  if (header.length === 0 || header.every((h) => h === '')) {
    throw new UsageError(
      'the sheet has no header row',
      'the first row names the columns: refcode, name, project, type, then attributes',
    );
  }
  header.forEach((h, i) => {
    if (h === '')
      throw new UsageError(
        `column ${i + 1} of the header has no name`,
        'name every column, or delete the empty one',
      );
    const first = header.indexOf(h);
    if (first !== i)
      throw new UsageError(
        `column '${h}' appears twice in the header (columns ${first + 1} and ${i + 1})`,
        'keep one of them',
      );
  });
  return header;
}

/**
 * Pure: the records of a CSV without a quote character, whose whole grammar is then lines (all LF
 * or all CRLF) split at commas, read one line at a time as they are asked for. Such sheets (most
 * inventory exports) are read here, about ten times faster than csv-parse; any other (null) goes to
 * csv-parse. The same records as csv-parse with `bom`, `relax_column_count` and `skip_empty_lines`
 * (test/catalog-sheet.test.ts compares them).
 */
export function plainCsvRecords(text: string): Iterable<string[]> | null {
  if (text.includes('"')) return null;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // csv-parse takes the first line end it meets for all the sheet: so do we (CRLF or LF, not mixed)
  const crlf = body.includes('\r');
  if (crlf && /\r(?!\n)|(?<!\r)\n/.test(body)) return null;
  return linesOf(body, crlf ? '\r\n' : '\n');
}

function* linesOf(body: string, end: string): Generator<string[]> {
  for (let at = 0; at < body.length; ) {
    let next = body.indexOf(end, at);
    if (next < 0) next = body.length;
    if (next > at) yield body.slice(at, next).split(',');
    at = next + end.length;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Pure: the records of a CSV with quoted fields, read one at a time in one pass, as far as they
 * follow the plain grammar: fields quoted whole ('""' a quote inside) or not at all (no quote in
 * them), records ending with the line end met first (LF or CRLF, not mixed), line ends inside quotes
 * kept. Returns true when it read the whole sheet, false where it met anything else (a quote inside
 * an unquoted field, text after a closing quote, a lone CR, another line end, an unclosed quote):
 * csv-parse reads (or refuses) the rest (`csvRecords`).
 */
export function* quotedCsvRecords(text: string): Generator<string[], boolean> {
  const at0 = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let crlf: boolean | undefined;
  let pos = at0;
  while (pos < n) {
    const record: string[] = [];
    let quoted = false;
    for (;;) {
      if (text.charCodeAt(pos) === QUOTE) {
        quoted = true;
        let field = '';
        let from = pos + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q < 0) return false;
          if (text.charCodeAt(q + 1) !== QUOTE) {
            field += text.slice(from, q);
            pos = q + 1;
            break;
          }
          field += text.slice(from, q + 1);
          from = q + 2;
        }
        record.push(field);
      } else {
        let i = pos;
        for (
          let c = text.charCodeAt(i);
          i < n && c !== COMMA && c !== LF && c !== CR;
          c = text.charCodeAt(++i)
        ) {
          if (c === QUOTE) return false;
        }
        record.push(text.slice(pos, i));
        pos = i;
      }
      if (pos >= n) break;
      const c = text.charCodeAt(pos);
      if (c === COMMA) {
        pos++;
        continue;
      }
      const end = c === LF ? false : c === CR && text.charCodeAt(pos + 1) === LF ? true : undefined;
      if (end === undefined || (crlf !== undefined && crlf !== end)) return false;
      crlf = end;
      pos += end ? 2 : 1;
      break;
    }
    // an empty line is skipped; a line of one quoted empty field is a record
    if (record.length > 1 || record[0] !== '' || quoted) yield record;
  }
  return true;
}

/** csv-parse, with the options our sheets are read with; its errors as the user's. */
function parseCsv(text: string): string[][] {
  try {
    return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true });
  } catch (err) {
    throw new UsageError(
      `the CSV cannot be read: ${(err as Error).message}`,
      'check the quotes on that line',
    );
  }
}

/**
 * Pure: the records of any CSV, read one at a time: those without a quote by `plainCsvRecords`,
 * others by `quotedCsvRecords` as far as it goes, then by csv-parse (from the record it stopped at;
 * it throws a sheet it cannot read). The same records as csv-parse with `bom`, `relax_column_count`
 * and `skip_empty_lines` (test/catalog-sheet.test.ts compares them).
 */
export function* csvRecords(text: string): Generator<string[]> {
  const plain = plainCsvRecords(text);
  if (plain) return yield* plain;
  const quick = quotedCsvRecords(text);
  let k = 0;
  for (let r = quick.next(); ; r = quick.next()) {
    if (r.done) {
      if (r.value) return;
      break;
    }
    k++;
    yield r.value;
  }
  yield* parseCsv(text).slice(k);
}

/** `plainCsvRecords`, all of them. */
export function splitPlainCsv(text: string): string[][] | null {
  const records = plainCsvRecords(text);
  return records && [...records];
}

/**
 * A CSV sheet whose rows are read as they are asked for (once: `rows` is read by one loop). The
 * header and anything that makes the whole sheet unreadable are checked here, before any row.
 */
export function csvSheet(buf: Buffer): SheetStream {
  let text: string;
  let badBytes = false;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    text = new TextDecoder('utf-8').decode(buf);
    badBytes = true;
  }
  const it = csvRecords(text);
  const first = it.next();
  const head = first.done ? [] : first.value;
  if (badBytes && head.some((h) => h.includes('\uFFFD')))
    throw new UsageError(`the header row has ${NOT_UTF8}`);
  const header = checkHeader(head);
  function* rows(): Generator<SheetRow> {
    let row = 2;
    for (let r = it.next(); !r.done; r = it.next()) {
      yield { row: row++, cells: r.value.map((s) => textCell(s, badBytes)) };
    }
  }
  return { header, rows: rows() };
}

/** A CSV sheet, all rows read. A byte sequence that is no UTF-8 marks the rows it is in (the header: an error). */
export function readCsv(buf: Buffer): Sheet {
  const { header, rows } = csvSheet(buf);
  return { header, rows: [...rows] };
}

interface XlsxCell {
  type: number;
  value: unknown;
  formula?: string;
  text?: string;
}

/** exceljs cell types (ValueType): 6 Formula, 7 SharedString, 8 RichText, 5 Hyperlink, 4 Date, 11 Error. */
function xlsxCell(c: XlsxCell | undefined): Cell {
  if (c === undefined || c.value === null || c.value === undefined) return { value: null };
  if (c.formula !== undefined || c.type === 6) {
    return { problem: `a formula (=${c.formula ?? '?'}): paste the values instead of formulas` };
  }
  const v = c.value;
  if (typeof v === 'number' || typeof v === 'boolean') return { value: v };
  if (typeof v === 'string') return textCell(v, false);
  if (v instanceof Date) return { value: v.toISOString().replace('T00:00:00.000Z', '') };
  if (typeof v === 'object' && v !== null) {
    const o = v as { richText?: { text: string }[]; text?: string; error?: string; sharedFormula?: string };
    if (o.sharedFormula !== undefined) return { problem: 'a formula: paste the values instead of formulas' };
    if (o.error !== undefined) return { problem: `an error value (${o.error})` };
    if (o.richText) return textCell(o.richText.map((t) => t.text).join(''), false);
    if (typeof o.text === 'string') return textCell(o.text, false);
  }
  return { problem: 'a value of an unknown kind' };
}

/** The first worksheet (or the one named `sheetName`) of an XLSX workbook. */
export async function readXlsx(buf: Buffer, sheetName?: string): Promise<Sheet> {
  const { default: ExcelJS } = await import('exceljs');
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch (err) {
    throw new UsageError(
      `the XLSX cannot be read: ${(err as Error).message}`,
      'save it again as .xlsx, or as CSV UTF-8',
    );
  }
  const ws = sheetName ? wb.getWorksheet(sheetName) : wb.worksheets[0];
  if (!ws) {
    throw new UsageError(
      `no worksheet ${sheetName ? `'${sheetName}'` : ''} in the workbook`,
      `worksheets: ${wb.worksheets.map((w) => w.name).join(', ') || 'none'}`,
    );
  }
  const raw: { row: number; cells: (XlsxCell | undefined)[] }[] = [];
  ws.eachRow({ includeEmpty: false }, (r, n) => {
    const cells: (XlsxCell | undefined)[] = [];
    for (let i = 1; i <= r.cellCount; i++) cells.push(r.getCell(i) as unknown as XlsxCell);
    raw.push({ row: n, cells });
  });
  const [head, ...body] = raw;
  const header = checkHeader(
    (head?.cells ?? []).map((c) =>
      c?.value === null || c?.value === undefined ? '' : String(c.text ?? c.value),
    ),
  );
  return { header, rows: body.map((r) => ({ row: r.row, cells: r.cells.map(xlsxCell) })) };
}
