/**
 * Output helpers shared by the commands: aligned tables for people (every cell escaped for a
 * terminal, core/visible.ts), JSON for scripts (exact).
 */
import { visibleText } from '../core/visible.ts';

export type Cell = string | number | boolean | null | undefined | Date;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date)
    return v
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
  return visibleText(String(v));
}

/** Prints rows as an aligned table with a header; prints `empty` when there are no rows. */
export function printTable(
  rows: Record<string, Cell>[],
  empty = '(none)',
  out: NodeJS.WritableStream = process.stdout,
): void {
  if (rows.length === 0) {
    out.write(`${empty}\n`);
    return;
  }
  const cols = Object.keys(rows[0]!);
  const text = rows.map((r) => cols.map((c) => cellText(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  out.write(`${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const t of text) out.write(`${line(t)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "3 s ago", "5 min ago", "2 h ago" */
export function ago(d: Date | null | undefined, now = Date.now()): string {
  if (!d) return '-';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
