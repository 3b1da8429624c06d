/**
 * What the streams API, the dashboard's streams page and Prometheus show (issue #21): per configured
 * source the items stored, the rates, the dead letters and the consumer's lag, unacknowledged and
 * redelivered messages from NATS (`streams status`); per unit its kind, config hash, results and
 * rejections; and the outbox of Sluice's own events (pending, oldest pending, published).
 */
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { configHash } from './decide.ts';
import { type OutboxCounts, outboxCounts, outboxEnabled } from './outbox-repo.ts';
import { itemRates, unitCounts } from './repo.ts';
import { type SourceStatus, streamsStatus } from './status.ts';

export interface SourceOverview extends SourceStatus {
  items_last_5m: number;
  items_last_1h: number;
  rejections: { channel: string; unit: string; n: number }[];
}

export interface UnitOverview {
  name: string;
  kind: 'filter' | 'compute';
  config_hash: string;
  results: number;
  rejections: number;
}

export interface StreamsOverview {
  sources: SourceOverview[];
  units: UnitOverview[];
  outbox: OutboxCounts & {
    configured: boolean;
    enabled: boolean;
    stream: string | null;
    subject_prefix: string | null;
  };
}

export async function streamsOverview(q: Queryable, streams: StreamsConfig): Promise<StreamsOverview> {
  const [status, rates, units, outbox, enabled] = await Promise.all([
    streamsStatus(q, streams),
    itemRates(q),
    unitCounts(q),
    outboxCounts(q),
    outboxEnabled(q),
  ]);
  const rate = new Map(rates.map((r) => [r.source, r]));
  const sources = status.map((s) => ({
    ...s,
    items_last_5m: rate.get(s.source)?.last_5m ?? 0,
    items_last_1h: rate.get(s.source)?.last_1h ?? 0,
    rejections: units.rejections
      .filter((r) => r.source === s.source)
      .map(({ channel, unit, n }) => ({ channel, unit, n })),
  }));
  const sum = (xs: { n: number }[]) => xs.reduce((a, x) => a + x.n, 0);
  const unitRows = Object.entries(streams.units).map(([name, u]) => ({
    name,
    kind: u.kind,
    config_hash: configHash(u.config),
    results: sum(units.results.filter((r) => r.unit === name)),
    rejections: sum(units.rejections.filter((r) => r.unit === name)),
  }));
  const p = streams.publish;
  return {
    sources,
    units: unitRows,
    outbox: {
      ...outbox,
      configured: p !== undefined,
      enabled,
      stream: p?.stream ?? null,
      subject_prefix: p?.subject_prefix ?? null,
    },
  };
}
