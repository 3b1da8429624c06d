/**
 * Progress of a database backup or restore on stderr: a bar redrawn in place on a terminal, one
 * plain line per finished table otherwise (logs, CI, pipes).
 */
import type { Progress } from '../ops/db-backup/format.ts';
import { bytes } from './output.ts';

export interface ProgressPrinter {
  update(p: Progress): void;
  /** Clears the bar (a terminal) so the summary prints on a clean line. */
  finish(): void;
}

const WIDTH = 24;
const REDRAW_MS = 100;
const num = (n: number) => n.toLocaleString('en-US');

function fraction(p: Progress): number | undefined {
  if (p.fileTotal) return Math.min(1, p.fileBytes / p.fileTotal);
  if (p.tablesTotal) return p.tablesDone / p.tablesTotal;
  return undefined;
}

export function progressPrinter(out: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  const tty = Boolean(out.isTTY);
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      if (!tty) {
        if (p.tableDone && p.table) {
          out.write(
            `${p.phase}: table ${p.tablesDone}/${p.tablesTotal} ${p.table} done; ${num(p.rows)} rows, ${bytes(p.bytes)} of data so far\n`,
          );
        }
        return;
      }
      const now = Date.now();
      if (now - last < REDRAW_MS && !(p.tableDone && p.tablesDone === p.tablesTotal)) return;
      last = now;
      const f = fraction(p) ?? 0;
      const filled = Math.round(f * WIDTH);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
      const file = p.fileTotal ? `${bytes(p.fileBytes)}/${bytes(p.fileTotal)}` : bytes(p.fileBytes);
      const line = `${p.phase.padEnd(7)} ${bar}  tables ${p.tablesDone}/${p.tablesTotal}  ${num(p.rows)} rows  ${file}  ${p.table ?? ''}`;
      out.write(`\r\x1b[K${line.slice(0, Math.max(20, (out.columns ?? 100) - 1))}`);
      drawn = true;
    },
    finish() {
      if (tty && drawn) out.write('\r\x1b[K');
      drawn = false;
    },
  };
}
