/**
 * Prometheus metrics of the streams (issue #21), added to `/metrics` by src/ops/prometheus.ts:
 *
 *   sluice_stream_items{source}                   items stored
 *   sluice_stream_dead_letters{source}            messages given up
 *   sluice_stream_lag{source}                     messages the durable consumer has not delivered yet (NATS)
 *   sluice_stream_unacknowledged{source}          delivered, not acknowledged yet (NATS)
 *   sluice_stream_redelivered{source}             delivered more than once, not acknowledged yet (NATS)
 *   sluice_stream_nats_up{source}                 1 when NATS answered for the source at this scrape
 *   sluice_stream_rejections{source,channel,unit} items a channel's filter unit rejected
 *   sluice_stream_unit_results{unit}              results a compute unit stored (every run)
 *   sluice_unit_failures{unit,kind}               a unit's failures: compute_retrying (its task waits
 *                                                 for another attempt), compute_failed (given up),
 *                                                 reaction_failed (failed runs of a reaction)
 *   sluice_outbox_pending                         file events not published yet
 *   sluice_outbox_oldest_pending_seconds          age of the oldest of them (0: none)
 *
 * One overview (overview.ts) per scrape, kept `cacheMs` so concurrent scrapes do not multiply the load.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { type StreamsOverview, streamsOverview } from './overview.ts';

type Fill = (g: Gauge<string>, o: StreamsOverview) => void;

const SERIES: [name: string, help: string, labels: string[], fill: Fill][] = [
  ['sluice_stream_items', 'Items stored from each stream source', ['source'], perSource((s) => s.items)],
  [
    'sluice_stream_dead_letters',
    'Messages of each source given up (dead letters)',
    ['source'],
    perSource((s) => s.dead_letters),
  ],
  [
    'sluice_stream_lag',
    'Messages the durable consumer has not delivered yet',
    ['source'],
    perSource((s) => s.lag),
  ],
  [
    'sluice_stream_unacknowledged',
    'Messages delivered and not acknowledged yet',
    ['source'],
    perSource((s) => s.unacknowledged),
  ],
  [
    'sluice_stream_redelivered',
    'Messages delivered more than once and not acknowledged yet',
    ['source'],
    perSource((s) => s.redelivered),
  ],
  [
    'sluice_stream_nats_up',
    '1 when NATS answered for the source at this scrape',
    ['source'],
    perSource((s) => (s.nats_error ? 0 : 1)),
  ],
  [
    'sluice_stream_rejections',
    "Items a channel's filter rejected",
    ['source', 'channel', 'unit'],
    (g, o) => {
      for (const s of o.sources)
        for (const r of s.rejections) g.set({ source: s.source, channel: r.channel, unit: r.unit }, r.n);
    },
  ],
  [
    'sluice_stream_unit_results',
    'Results stored by each compute unit (a row per run)',
    ['unit'],
    (g, o) => {
      for (const u of o.units) if (u.kind === 'compute') g.set({ unit: u.name }, u.results);
    },
  ],
  [
    'sluice_unit_failures',
    "A unit's failures: compute items waiting to retry, compute items given up, failed reaction runs",
    ['unit', 'kind'],
    (g, o) => {
      for (const f of o.failures) g.set({ unit: f.unit, kind: f.kind }, f.n);
    },
  ],
  [
    'sluice_outbox_pending',
    'File events in the outbox not published yet',
    [],
    (g, o) => g.set(o.outbox.pending),
  ],
  [
    'sluice_outbox_oldest_pending_seconds',
    'Seconds since the oldest unpublished file event was written (0: none)',
    [],
    (g, o) => g.set(o.outbox.oldest_pending_seconds ?? 0),
  ],
];

function perSource(value: (s: StreamsOverview['sources'][number]) => number | undefined): Fill {
  return (g, o) => {
    for (const s of o.sources) {
      const v = value(s);
      if (v !== undefined) g.set({ source: s.source }, v);
    }
  };
}

/** Registers the streams' gauges on `registry`, each filled from one cached overview per scrape. */
export function registerStreamMetrics(
  registry: Registry,
  db: Queryable,
  streams: StreamsConfig,
  cacheMs = 1000,
): void {
  let cached: { at: number; value: Promise<StreamsOverview | undefined> } | undefined;
  const overview = () => {
    if (!cached || Date.now() - cached.at > cacheMs) {
      cached = { at: Date.now(), value: streamsOverview(db, streams).catch(() => undefined) };
    }
    return cached.value;
  };
  for (const [name, help, labelNames, fill] of SERIES) {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const o = await overview();
        this.reset();
        if (o) fill(this, o);
      },
    });
  }
}
