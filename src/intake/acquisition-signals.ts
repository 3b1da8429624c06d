/**
 * Acquisition signals in the scan (issue #21): the instrument's stored "acquisition finished" signals
 * (src/streams/signals.ts) mark the tracked entries they name (rule 4b of rules.ts), and the signals of
 * entries the scan decided are spent, so a name acquired again later needs a signal of its own.
 */
import type { InstrumentConfig } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { signalsFor, spendSignals } from '../streams/signals-repo.ts';
import type { Moves, TrackedFile } from './merge.ts';

/** Marks the tracked entries the instrument's signals name; returns whether any signals exist. */
export async function markSignalled(
  tx: Tx,
  id: string,
  inst: InstrumentConfig,
  tracked: ReadonlyMap<string, TrackedFile>,
): Promise<boolean> {
  if (!inst.acquisition_done) return false;
  const signals = await signalsFor(tx, id);
  for (const [name, reason] of signals) {
    const x = tracked.get(name);
    if (x) x.t.signalled = reason;
  }
  return signals.size > 0;
}

/** Spends the signals of entries this scan decided (any outcome but still acquiring), and stale ones. */
export async function spendDecided(
  tx: Tx,
  id: string,
  tracked: ReadonlyMap<string, TrackedFile>,
  moves: Moves,
): Promise<void> {
  const decided = new Set<string>();
  for (const [to, m] of moves) if (to !== 'acquiring') for (const f of m.ids) decided.add(f);
  const names = [...tracked].filter(([, x]) => x.t.signalled && decided.has(x.fileId)).map(([n]) => n);
  await spendSignals(tx, id, names);
}
