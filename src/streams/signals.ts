/**
 * Acquisition signals in (issue #21): events of a stream source that say an instrument finished an
 * acquisition (an instrument's `acquisition_done: { stream, path_field, when }`). The pure part decides
 * which instrument and which watch-folder entry an event names; `recordSignals` stores them in the
 * consumer's batch transaction (so a signal is kept exactly when its item is), and the scan
 * (src/intake/scan-task.ts) takes them as an acquisition-done rule (src/intake/rules.ts) and spends them.
 */
import path from 'node:path';
import type { InstrumentConfig } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { fieldAt, fieldFilter } from './decide.ts';
import { insertSignals, type NewSignal } from './signals-repo.ts';

const slashes = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '');

/**
 * The watch-folder entry a path or name from an event stands for: the first part below the watch folder
 * when the path lies in it (a Bruker `.d` folder's inner file names the folder), else the last part.
 */
export function signalledName(value: unknown, watch: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const p = slashes(value.trim());
  const w = slashes(watch);
  if (w && p.toLowerCase().startsWith(`${w.toLowerCase()}/`)) {
    return p.slice(w.length + 1).split('/')[0] || undefined;
  }
  return path.posix.basename(p) || undefined;
}

/** The (instrument, entry name) pairs an event of `source` signals as finished. */
export function signalsOf(
  instruments: Record<string, InstrumentConfig>,
  source: string,
  payload: unknown,
): { instrument: string; name: string }[] {
  const out: { instrument: string; name: string }[] = [];
  for (const [id, inst] of Object.entries(instruments)) {
    const rule = inst.acquisition_done;
    if (rule?.stream !== source) continue;
    if (!rule.when.every((c) => fieldFilter(c, payload).accept)) continue;
    const name = signalledName(fieldAt(payload, rule.path_field), inst.watch);
    if (name) out.push({ instrument: id, name });
  }
  return out;
}

/** Whether any instrument takes signals from `source` (the consumer skips the work otherwise). */
export function takesSignals(instruments: Record<string, InstrumentConfig>, source: string): boolean {
  return Object.values(instruments).some((i) => i.acquisition_done?.stream === source);
}

/** Stores the signals of a batch's new items, in the batch's transaction. */
export async function recordSignals(
  tx: Tx,
  instruments: Record<string, InstrumentConfig>,
  source: string,
  items: { seq: number; payload: unknown }[],
): Promise<void> {
  const rows: NewSignal[] = [];
  for (const it of items) {
    for (const s of signalsOf(instruments, source, it.payload)) rows.push({ ...s, source, seq: it.seq });
  }
  await insertSignals(tx, rows);
}
