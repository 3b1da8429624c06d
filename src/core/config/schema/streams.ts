/**
 * Config schema: `streams` (issue #21): event sources (NATS JetStream durable pull consumers shared by
 * the workers that carry the source's tag), channels with their filters, and units (versioned plugins:
 * filter and compute) with their config. Consumed by src/streams/; documented in docs/configuration.md.
 */
import { z } from 'zod';
import { always, int, isMapping, namedRecord, num, section, str, strList } from './building-blocks.ts';
import { publishSchema } from './streams-publish.ts';

const NAME = {
  pattern: /^[a-z0-9][a-z0-9_-]*$/,
  form: "lowercase letters, digits, '-' and '_', starting with a letter or digit",
};

export const FIELD_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'exists', 'matches'] as const;
export type FieldOp = (typeof FIELD_OPS)[number];

/** A JetStream stream the workers consume. */
const sourceSchema = z.strictObject({
  servers: strList('a NATS server URL, e.g. nats://127.0.0.1:4222').min(1, {
    error: 'at least one NATS server URL, e.g. [nats://127.0.0.1:4222]',
  }),
  stream: str('a JetStream stream name'),
  /** Subjects the stream is created with when it does not exist (left alone when it does). */
  subjects: strList('a subject, e.g. lims.>').default([]),
  durable: str('a durable consumer name').default('sluice'),
  /** Messages one replica holds unacknowledged at most (its pull size and batch bound). */
  max_in_flight: int(1, 10_000).default(256),
  /** Messages all replicas together hold unacknowledged at most (the consumer's max_ack_pending). */
  max_ack_pending: int(1).default(4096),
  ack_wait_seconds: num({ gte: 1 }, 'seconds').default(30),
  /** Deliveries after which a message that cannot be stored goes to the dead letters. */
  max_deliveries: int(1, 1000).default(5),
  /** Only workers started with this tag consume the source; unset: every worker. */
  tag: str('a worker tag').optional(),
});

/** One entry of a channel's filter list: a built-in field condition, or a filter unit by name. */
const fieldFilterSchema = z.strictObject({
  field: str('a field path, e.g. payload.kind or data.pressure'),
  op: z.enum(FIELD_OPS, { error: `one of ${FIELD_OPS.join(', ')}` }),
  value: z.unknown().optional(),
});
const unitFilterSchema = z.strictObject({ unit: str('the name of a filter unit under streams.units') });
const filterSchema = z.union([fieldFilterSchema, unitFilterSchema], {
  error: 'a field condition {field, op, value} or a filter unit {unit: NAME}',
});

const channelSchema = z.strictObject({
  /** Sources whose items the channel sees; default every source. */
  sources: strList('a source name').optional(),
  filters: z.array(filterSchema, { error: 'a list of filters' }).default([]),
});

const unitSchema = z.strictObject({
  kind: z.enum(['filter', 'compute'], { error: "'filter' or 'compute'" }),
  module: str('the path of the unit module (.ts, .mts, .js, .mjs), relative to the config file'),
  /** The module's export holding the unit; default `default`, then `unit`. */
  export: str('an export name').optional(),
  config: z.record(z.string(), z.unknown(), { error: 'a mapping of the unit settings' }).default({}),
  /** Compute: the channels whose accepted items it runs on; default every channel. */
  channels: strList('a channel name').optional(),
  /** Compute: other compute units whose results it reads (they run first). */
  depends_on: strList('a compute unit name').default([]),
});

export type StreamSourceConfig = z.output<typeof sourceSchema>;
export type FieldFilterConfig = z.output<typeof fieldFilterSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type UnitConfig = z.output<typeof unitSchema>;

function issue(ctx: z.RefinementCtx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { full: true } });
}

/** Names that refer to other entries (sources, units, channels, dependencies) must exist and fit. */
function references(s: unknown, ctx: z.RefinementCtx): void {
  if (!isMapping(s)) return;
  const sources = isMapping(s.sources) ? Object.keys(s.sources) : [];
  const units = isMapping(s.units) ? (s.units as Record<string, { kind?: unknown }>) : {};
  const channels = isMapping(s.channels) ? (s.channels as Record<string, Partial<ChannelConfig>>) : {};
  const list = (names: string[]) => (names.length ? names.join(', ') : 'none defined');
  for (const [id, ch] of Object.entries(channels)) {
    for (const [i, src] of (Array.isArray(ch?.sources) ? ch.sources : []).entries()) {
      if (!sources.includes(src)) {
        issue(
          ctx,
          ['channels', id, 'sources', i],
          `unknown source '${src}': expected one of ${list(sources)}`,
        );
      }
    }
    for (const [i, f] of (Array.isArray(ch?.filters) ? ch.filters : []).entries()) {
      const u = isMapping(f) ? (f as { unit?: unknown }).unit : undefined;
      const name = typeof u === 'string' ? u : undefined;
      if (name !== undefined && units[name]?.kind !== 'filter') {
        const filters = Object.keys(units).filter((u) => units[u]?.kind === 'filter');
        issue(
          ctx,
          ['channels', id, 'filters', i, 'unit'],
          `unknown filter unit '${name}': expected one of ${list(filters)}`,
        );
      }
    }
  }
  for (const [id, u] of Object.entries(units) as [string, Partial<UnitConfig>][]) {
    for (const [i, ch] of (Array.isArray(u?.channels) ? u.channels : []).entries()) {
      if (!(ch in channels))
        issue(
          ctx,
          ['units', id, 'channels', i],
          `unknown channel '${ch}': expected one of ${list(Object.keys(channels))}`,
        );
    }
    for (const [i, dep] of (Array.isArray(u?.depends_on) ? u.depends_on : []).entries()) {
      if (units[dep]?.kind !== 'compute' || dep === id) {
        issue(
          ctx,
          ['units', id, 'depends_on', i],
          `expected another compute unit under streams.units, found '${dep}'`,
        );
      }
    }
  }
  const cycle = dependencyCycle(units as Record<string, Partial<UnitConfig>>);
  if (cycle)
    issue(
      ctx,
      ['units', cycle[0]!, 'depends_on'],
      `compute units depend on each other in a loop: ${cycle.join(' → ')}`,
    );
}

/** A loop in `depends_on` (its names, first repeated at the end), or undefined. */
export function dependencyCycle(units: Record<string, { depends_on?: unknown }>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const deps = (u: string) => {
    const d = units[u]?.depends_on;
    return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string' && x in units) : [];
  };
  const visit = (u: string, path: string[]): string[] | undefined => {
    if (state.get(u) === 'done') return undefined;
    if (state.get(u) === 'open') return [...path.slice(path.indexOf(u)), u];
    state.set(u, 'open');
    for (const d of deps(u)) {
      const c = visit(d, [...path, u]);
      if (c) return c;
    }
    state.set(u, 'done');
    return undefined;
  };
  for (const u of Object.keys(units)) {
    const c = visit(u, []);
    if (c) return c;
  }
  return undefined;
}

export const streamsSchema = section(
  z
    .strictObject({
      sources: namedRecord(sourceSchema, { ...NAME, noun: 'stream source' }).default({}),
      channels: namedRecord(channelSchema, { ...NAME, noun: 'channel' }).default({}),
      units: namedRecord(unitSchema, { ...NAME, noun: 'unit' }).default({}),
      /** Sluice's own file events out, through the outbox (absent: off). */
      publish: publishSchema.optional(),
    })
    .superRefine(references, always),
);

export type StreamsConfig = z.output<typeof streamsSchema>;
