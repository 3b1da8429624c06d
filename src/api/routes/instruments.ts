/**
 * One row per instrument: reachability, disk space, last new file, files by status, stuck files.
 *
 * Files in a non-terminal status (the few in flight) are counted on every request, along the
 * `files_status` index. Counting the terminal ones (nearly all of a million files) takes a scan
 * of the `files_instrument_status` index, so that count is shared by all requests of this process
 * and refreshed in the background when older than TERMINAL_COUNTS_MAX_AGE_MS: a finished file may
 * show up in its terminal count a few seconds late, never in two places at once for long.
 */
import type { Db } from '../../core/db/db.ts';
import { FILE_STATUSES, TERMINAL } from '../../files/lifecycle.ts';
import { type CountRow, countByInstrumentStatus, listInstruments } from '../../files/repo.ts';
import { type AnyRoute, route } from '../route.ts';

const num = (v: string | null) => (v === null ? null : Number(v));

export const TERMINAL_COUNTS_MAX_AGE_MS = 15_000;

/** Listed, not negated, so the count reads the few rows in flight along an index. */
const IN_FLIGHT = FILE_STATUSES.filter((s) => !TERMINAL.has(s));

interface Cached {
  at: number;
  rows: Promise<CountRow[]>;
  refreshing?: Promise<CountRow[]>;
}
const terminalCache = new WeakMap<Db, Cached>();

function countTerminal(db: Db): Promise<CountRow[]> {
  return countByInstrumentStatus(db, [...TERMINAL]);
}

/** Terminal counts: at most TERMINAL_COUNTS_MAX_AGE_MS old, refreshed without making anyone wait. */
async function terminalCounts(db: Db): Promise<CountRow[]> {
  const now = Date.now();
  const c = terminalCache.get(db);
  if (!c) {
    const fresh: Cached = { at: now, rows: countTerminal(db) };
    terminalCache.set(db, fresh);
    fresh.rows.catch(() => terminalCache.delete(db));
    return fresh.rows;
  }
  if (now - c.at > TERMINAL_COUNTS_MAX_AGE_MS && !c.refreshing) {
    const next = countTerminal(db);
    c.refreshing = next;
    next.then(
      () => {
        c.rows = next;
        c.at = Date.now();
        c.refreshing = undefined;
      },
      () => {
        c.refreshing = undefined;
      },
    );
  }
  return c.rows;
}

export const instrumentRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/instruments',
    role: 'viewer',
    tag: 'instruments',
    summary: 'instruments: online, free/total bytes, last new file, counts by status, stuck files',
    description:
      'A file is stuck when it has been in a non-terminal status for longer than the variable `stuck_file_minutes`. Counts of terminal statuses may be up to about 15 s old; the others are exact.',
    handle: async (c, { deps }) => {
      const stuckMinutes = await deps.vars.get('stuck_file_minutes');
      const [instruments, active, terminal] = await Promise.all([
        listInstruments(deps.db),
        countByInstrumentStatus(deps.db, IN_FLIGHT, stuckMinutes),
        terminalCounts(deps.db),
      ]);
      const counts = [...active, ...terminal.map((r) => ({ ...r, stuck: '0' }))];
      const byInstrument = new Map<string, { counts: Record<string, number>; stuck: number }>();
      for (const r of counts) {
        const e = byInstrument.get(r.instrument_id) ?? { counts: {}, stuck: 0 };
        e.counts[r.status] = Number(r.n);
        e.stuck += Number(r.stuck);
        byInstrument.set(r.instrument_id, e);
      }
      return c.json({
        stuckFileMinutes: stuckMinutes,
        instruments: instruments.map((i) => ({
          id: i.id,
          type: i.type,
          watch_path: i.watch_path,
          online: i.online,
          offline_reason: i.offline_reason,
          backup_target_problem: i.backup_target_problem,
          checked_at: i.checked_at,
          free_bytes: num(i.free_bytes),
          total_bytes: num(i.total_bytes),
          last_new_file_at: i.last_new_file_at,
          counts: byInstrument.get(i.id)?.counts ?? {},
          stuck: byInstrument.get(i.id)?.stuck ?? 0,
        })),
      });
    },
  }),
];
