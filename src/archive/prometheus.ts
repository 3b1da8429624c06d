/**
 * Prometheus gauges of the archive (issue #20), registered by src/ops/prometheus.ts: bytes archived
 * and verified per target, archives per target and state, how long the oldest file due for archiving
 * has waited (a target that stopped keeping up grows it), and when each target last verified an
 * archive. Every target seen in the database is reported, with 0 when it has nothing of a kind.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../core/db/db.ts';
import { type ArchiveState, archiveTotals, itemCounts } from './repo.ts';
import { ARCHIVE_STATES, archiveStateCounts, pendingAges } from './views.ts';

export interface ArchiveFigures {
  targets: string[];
  totals: Awaited<ReturnType<typeof archiveTotals>>;
  states: Awaited<ReturnType<typeof archiveStateCounts>>;
  pending: Awaited<ReturnType<typeof pendingAges>>;
}

export async function archiveFigures(db: Queryable): Promise<ArchiveFigures> {
  const [totals, states, pending, items] = await Promise.all([
    archiveTotals(db),
    archiveStateCounts(db),
    pendingAges(db),
    itemCounts(db),
  ]);
  const targets = [...new Set([...states, ...items].map((r) => r.target))].sort();
  return { targets, totals, states, pending };
}

/** The gauges' values from the figures (pure): [labels, value] per gauge. */
export function archiveSamples(f: ArchiveFigures) {
  const per = <T extends { target: string }>(rows: T[], t: string) => rows.find((r) => r.target === t);
  return {
    bytes: f.targets.map((t) => [{ target: t }, per(f.totals, t)?.bytes ?? 0] as const),
    archives: f.targets.flatMap((t) =>
      ARCHIVE_STATES.map(
        (s: ArchiveState) =>
          [
            { target: t, state: s },
            f.states.find((r) => r.target === t && r.state === s)?.archives ?? 0,
          ] as const,
      ),
    ),
    pending: f.targets.map((t) => [{ target: t }, per(f.pending, t)?.oldest_s ?? 0] as const),
    verified: f.targets.flatMap((t) => {
      const at = per(f.totals, t)?.newest;
      return at ? [[{ target: t }, at.getTime() / 1000] as const] : [];
    }),
  };
}

type Samples = ReturnType<typeof archiveSamples>;
type Sample = readonly [Record<string, string>, number];

export function registerArchiveMetrics(registry: Registry, db: Queryable): void {
  let pending: Promise<Samples | undefined> | undefined;
  // the gauges of one scrape share one read; the database down keeps their last values
  const read = () => {
    pending ??= archiveFigures(db)
      .then(archiveSamples)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (pending = undefined), 500));
    return pending;
  };
  const gauge = (name: string, help: string, labelNames: string[], pick: (s: Samples) => readonly Sample[]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await read();
        if (!s) return;
        this.reset();
        for (const [labels, v] of pick(s)) this.set(labels, v);
      },
    });
  gauge(
    'sluice_archived_bytes',
    'Bytes of verified archives (read back, every member re-hashed) per archive target',
    ['target'],
    (s) => s.bytes,
  );
  gauge(
    'sluice_archives',
    'Archives per archive target and state (writing, written, archived, failed)',
    ['target', 'state'],
    (s) => s.archives,
  );
  gauge(
    'sluice_archive_oldest_pending_seconds',
    'Seconds since the oldest file due for archiving on the target became due (0: nothing waits)',
    ['target'],
    (s) => s.pending,
  );
  gauge(
    'sluice_archive_last_verified_timestamp_seconds',
    'When the target last verified an archive (Unix seconds); absent before its first',
    ['target'],
    (s) => s.verified,
  );
}
