/**
 * A small, strict TSV reader for QC tables (pandas `to_csv(sep='\t')` and friends).
 *
 * - First non-blank line is the header; blank lines (also trailing ones) are skipped.
 * - `\n` and `\r\n` line ends; a UTF-8 BOM is dropped.
 * - Cells that start with `"` are quoted (`""` is a quote; tabs and newlines may appear inside).
 * - Every row must have as many cells as the header (one extra, empty trailing cell is tolerated):
 *   otherwise `PermanentError('metrics.bad_output')` naming the file and line.
 * - Cells are classified by `parseCell`: numbers, missing (`NaN`, `nan`, `NA`, empty, ±inf) or text.
 */
import { PermanentError } from '../core/errors.ts';
import { readOutputText } from './extractor-kit.ts';

export interface TsvRow {
  /** 1-based line number where the row starts, for messages. */
  line: number;
  cells: string[];
}

export interface TsvTable {
  file: string;
  header: string[];
  rows: TsvRow[];
}

export type Cell = { kind: 'number'; value: number } | { kind: 'missing' } | { kind: 'text'; text: string };

const MISSING = new Set([
  '',
  'nan',
  'na',
  'n/a',
  'null',
  'none',
  'inf',
  '+inf',
  '-inf',
  'infinity',
  '+infinity',
  '-infinity',
]);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Classify one cell. Only plain decimal notation counts as a number (no hex, no `1_000`). */
export function parseCell(raw: string): Cell {
  const s = raw.trim();
  if (MISSING.has(s.toLowerCase())) return { kind: 'missing' };
  if (DECIMAL.test(s)) {
    const value = Number(s);
    if (Number.isFinite(value)) return { kind: 'number', value };
    return { kind: 'missing' };
  }
  return { kind: 'text', text: raw };
}

/** The numeric value of a cell: a number, `null` for missing, `undefined` for text. */
export function cellNumber(raw: string | undefined): number | null | undefined {
  if (raw === undefined) return null;
  const c = parseCell(raw);
  return c.kind === 'number' ? c.value : c.kind === 'missing' ? null : undefined;
}

/** Split text into records of cells, tracking the starting line of each record. */
function records(text: string, file: string): TsvRow[] {
  const out: TsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  let atCellStart = true;
  const endRecord = () => {
    cells.push(cell);
    out.push({ line: recordLine, cells });
    cells = [];
    cell = '';
    atCellStart = true;
  };
  while (i < n) {
    const ch = text[i]!;
    if (atCellStart && ch === '"') {
      // Quoted cell: read to the closing quote.
      const startLine = line;
      i++;
      let closed = false;
      while (i < n) {
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        if (q === '\n') line++;
        cell += q;
        i++;
      }
      if (!closed) {
        throw new PermanentError(
          'metrics.bad_output',
          `${file}: line ${startLine}: a quoted cell is never closed`,
        );
      }
      atCellStart = false;
      continue;
    }
    atCellStart = false;
    if (ch === '\t') {
      cells.push(cell);
      cell = '';
      atCellStart = true;
      i++;
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      endRecord();
      i += ch === '\r' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      cell += ch;
      i++;
    }
  }
  if (cell !== '' || cells.length > 0) endRecord();
  return out;
}

/** Parse TSV text. `file` is used in error messages only. */
export function parseTsv(text: string, file: string): TsvTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const all = records(body, file).filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === ''));
  const head = all[0];
  if (!head) {
    throw new PermanentError('metrics.bad_output', `${file}: no header row (the file is empty)`);
  }
  const header = head.cells.map((h) => h.trim());
  if (header.length === 1 && header[0] !== '' && body.includes(',') && !body.includes('\t')) {
    throw new PermanentError(
      'metrics.bad_output',
      `${file}: line ${head.line}: header has no tabs; this looks like a comma-separated file, expected tab-separated`,
    );
  }
  const seen = new Set<string>();
  for (const h of header) {
    if (h === '') continue;
    if (seen.has(h)) {
      throw new PermanentError(
        'metrics.bad_output',
        `${file}: line ${head.line}: column '${h}' appears twice in the header`,
      );
    }
    seen.add(h);
  }
  const rows: TsvRow[] = [];
  for (const r of all.slice(1)) {
    let cells = r.cells;
    if (cells.length === header.length + 1 && cells[cells.length - 1] === '') cells = cells.slice(0, -1);
    if (cells.length !== header.length) {
      throw new PermanentError(
        'metrics.bad_output',
        `${file}: line ${r.line}: ${cells.length} columns, but the header (line ${head.line}) has ${header.length}`,
      );
    }
    rows.push({ line: r.line, cells });
  }
  return { file, header, rows };
}

/** Read and parse a TSV file (see `readOutputText` for missing-file errors). */
export async function readTsv(file: string): Promise<TsvTable> {
  return parseTsv(await readOutputText(file), file);
}

/** Index of a column by exact (trimmed) name, or -1. */
export function columnIndex(table: TsvTable, name: string): number {
  return table.header.indexOf(name.trim());
}

/** Columns whose cells are numbers or missing in every row (blank-named columns excluded). */
export function numericColumns(table: TsvTable): number[] {
  const out: number[] = [];
  table.header.forEach((h, i) => {
    if (h === '') return;
    if (table.rows.every((r) => parseCell(r.cells[i] ?? '').kind !== 'text')) out.push(i);
  });
  return out;
}
