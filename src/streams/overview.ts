/**
 * What the streams API, the dashboard's streams page and Prometheus show (issue #21): per configured
 * source the items stored, the rates, the dead letters and the consumer's lag, unacknowledged and
 * redelivered messages from NATS (`streams status`); per unit its kind, config hash, results and
 * rejections; failures per unit (compute units whose task waits for another attempt or failed for
 * good, reactions' failed runs); and the outbox of Sluice's own events (pending, oldest pending,
 * published, last published, the switch).
 */
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { taskFailuresBy } from '../engine/status.ts';
import { Kind } from '../tasks/catalogue.ts';
import { configHash } from './decide.ts';
import { type OutboxCounts, outboxCounts, outboxEnabled } from './outbox-repo.ts';
import { failedReactionRuns } from './reactions-repo.ts';
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

/**
 * A unit's failures: `compute_retrying` (items whose compute task waits for another attempt after
 * the unit threw), `compute_failed` (given up after its attempts), `reaction_failed` (failed runs).
 */
export interface UnitFailures {
  unit: string;
  kind: 'compute_retrying' | 'compute_failed' | 'reaction_failed';
  n: number;
}

export interface StreamsOverview {
  sources: SourceOverview[];
  units: UnitOverview[];
  failures: UnitFailures[];
  outbox: OutboxCounts & {
    configured: boolean;
    enabled: boolean;
    stream: string | null;
    subject_prefix: string | null;
  };
}

export async function streamsOverview(q: Queryable, streams: StreamsConfig): Promise<StreamsOverview> {
  const [status, rates, units, outbox, enabled, failures] = await Promise.all([
    streamsStatus(q, streams),
    itemRates(q),
    unitCounts(q),
    outboxCounts(q),
    outboxEnabled(q),
    unitFailures(q),
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
  return { sources, units: unitRows, failures, outbox: outboxOf(streams, outbox, enabled) };
}

export type OutboxOverview = StreamsOverview['outbox'];

function outboxOf(streams: StreamsConfig, counts: OutboxCounts, enabled: boolean): OutboxOverview {
  const p = streams.publish;
  return {
    ...counts,
    configured: p !== undefined,
    enabled,
    stream: p?.stream ?? null,
    subject_prefix: p?.subject_prefix ?? null,
  };
}

/** The outbox alone (`sluice streams status`): counts, last published, the switch, the config. */
export async function outboxOverview(q: Queryable, streams: StreamsConfig): Promise<OutboxOverview> {
  const [counts, enabled] = await Promise.all([outboxCounts(q), outboxEnabled(q)]);
  return outboxOf(streams, counts, enabled);
}

/** Failures per unit, from the compute tasks (engine) and the reaction runs. */
export async function unitFailures(q: Queryable): Promise<UnitFailures[]> {
  const [compute, reactions] = await Promise.all([
    taskFailuresBy(q, Kind.streamsCompute, 'unit'),
    failedReactionRuns(q),
  ]);
  const out: UnitFailures[] = [];
  for (const c of compute) {
    if (c.retrying > 0) out.push({ unit: c.value, kind: 'compute_retrying', n: c.retrying });
    if (c.failed > 0) out.push({ unit: c.value, kind: 'compute_failed', n: c.failed });
  }
  for (const r of reactions) out.push({ unit: r.reaction, kind: 'reaction_failed', n: r.n });
  return out;
}
