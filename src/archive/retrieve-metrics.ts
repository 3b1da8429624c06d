/**
 * Prometheus gauges of retrieval (issue #20), registered by src/ops/prometheus.ts: how many fetches
 * wait in each state and how long the oldest has waited since it was requested (a restore from a
 * cold class takes hours; a fetch waiting far longer than its tier promises needs a look).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../core/db/db.ts';
import { fetchWaits } from './retrieve-repo.ts';

const WAITING = ['requested', 'restoring', 'downloading'] as const;

export function registerRetrievalMetrics(registry: Registry, db: Queryable): void {
  let pending: Promise<Awaited<ReturnType<typeof fetchWaits>> | undefined> | undefined;
  // both gauges of one scrape share one query
  const read = () => {
    // the database down is `sluice_database_up 0`; these gauges then keep their last values
    pending ??= fetchWaits(db)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (pending = undefined), 500));
    return pending;
  };
  new Gauge({
    name: 'sluice_retrievals_waiting',
    help: 'Archive fetches (restore + download of one archive, shared by its requests) not finished, per state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await read();
      if (!rows) return;
      for (const s of WAITING) this.set({ state: s }, rows.find((r) => r.state === s)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'sluice_retrieval_wait_seconds',
    help: 'Seconds the oldest unfinished archive fetch in each state has waited since it was requested',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await read();
      if (!rows) return;
      for (const s of WAITING) this.set({ state: s }, rows.find((r) => r.state === s)?.oldest_s ?? 0);
    },
  });
}
