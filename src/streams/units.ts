/**
 * Stream units: versioned plugins with a validated config ("a module and an export", loaded like the
 * custom metrics extractors through src/core/plugins.ts). A filter unit accepts or rejects an item for
 * a channel (with a reason); a compute unit makes a JSON result per item, stored with the unit's
 * version and the hash of its config. `evaluate` runs the channels' filters and the compute units on
 * one item, in memory; the consumer stores what it returns in the item's transaction.
 */
import type { ChannelConfig, StreamsConfig, UnitConfig } from '../core/config/schema/streams.ts';
import { errorMessage, PermanentError } from '../core/errors.ts';
import { importPluginModule } from '../core/plugins.ts';
import { computeOrder, configHash, type FilterVerdict, fieldFilter } from './decide.ts';

/** What a unit sees of an item. */
export interface UnitItem {
  source: string;
  subject: string;
  seq: number;
  payload: unknown;
}

interface UnitBase {
  /** Stored with every result; change it when the unit's logic changes. */
  version: string;
  /** Problems with `config` (empty or undefined: it is valid); checked when the units load. */
  validate?(config: Record<string, unknown>): string[] | undefined;
}
export interface FilterUnit extends UnitBase {
  filter(
    item: UnitItem,
    config: Record<string, unknown>,
  ): FilterVerdict | boolean | Promise<FilterVerdict | boolean>;
}
export interface ComputeUnit extends UnitBase {
  /** `deps`: the results of the units named in `depends_on`, by name (undefined: it did not apply). */
  compute(item: UnitItem, config: Record<string, unknown>, deps: Record<string, unknown>): unknown;
}

export interface LoadedUnit {
  name: string;
  spec: UnitConfig;
  version: string;
  hash: string;
  filter?: FilterUnit['filter'];
  compute?: ComputeUnit['compute'];
}

/** The built-in field filter's version (bump it when fieldFilter's meaning changes). */
export const FIELD_FILTER_VERSION = 'builtin-1';

async function loadUnit(name: string, spec: UnitConfig, baseDir: string): Promise<LoadedUnit> {
  const { mod, where } = await importPluginModule(spec.module, baseDir, 'streams.bad_unit');
  const names = spec.export ? [spec.export] : ['default', 'unit'];
  const found = names.map((n) => mod[n]).find((c) => c !== undefined && c !== null) as
    | Partial<FilterUnit & ComputeUnit>
    | undefined;
  const fail = (why: string): never => {
    throw new PermanentError(
      'streams.bad_unit',
      `streams.units.${name}: ${where} ${why}`,
      'see docs/streams.md for the unit interface',
    );
  };
  if (!found || typeof found !== 'object') return fail(`exports no unit (looked for: ${names.join(', ')})`);
  if (typeof found.version !== 'string' || found.version === '')
    fail('has no `version` (a non-empty string)');
  const fn = spec.kind === 'filter' ? found.filter : found.compute;
  if (typeof fn !== 'function') fail(`is a ${spec.kind} unit but has no \`${spec.kind}\` function`);
  const problems = found.validate?.(spec.config) ?? [];
  if (problems.length > 0) {
    throw new PermanentError(
      'streams.bad_unit_config',
      `streams.units.${name}.config: ${problems.join('; ')}`,
      'fix the unit settings in the config file',
    );
  }
  return {
    name,
    spec,
    version: found.version as string,
    hash: configHash(spec.config),
    [spec.kind]: (fn as (...a: unknown[]) => unknown).bind(found),
  };
}

/** Every unit of the config, loaded and its config validated (throws on the first that is not). */
export async function loadUnits(cfg: StreamsConfig, baseDir: string): Promise<Map<string, LoadedUnit>> {
  const out = new Map<string, LoadedUnit>();
  for (const [name, spec] of Object.entries(cfg.units)) out.set(name, await loadUnit(name, spec, baseDir));
  return out;
}

export interface Rejection {
  channel: string;
  unit: string;
  version: string;
  hash: string;
  reason: string;
}
export interface ResultRow {
  unit: string;
  version: string;
  hash: string;
  result: unknown;
}
export interface Evaluation {
  channels: string[];
  rejections: Rejection[];
  results: ResultRow[];
  /** Compute units that failed here (or whose dependency did): retried as `streams.compute` tasks. */
  deferred: { unit: string; error: string }[];
}

async function runFilters(
  ch: ChannelConfig,
  channel: string,
  item: UnitItem,
  units: Map<string, LoadedUnit>,
): Promise<Rejection | undefined> {
  for (const f of ch.filters) {
    if ('field' in f) {
      const v = fieldFilter(f, item.payload);
      if (!v.accept)
        return {
          channel,
          unit: 'field',
          version: FIELD_FILTER_VERSION,
          hash: configHash(f),
          reason: v.reason,
        };
      continue;
    }
    const u = units.get(f.unit)!;
    const raw = await u.filter!(item, u.spec.config);
    const v: FilterVerdict =
      typeof raw === 'boolean' ? (raw ? { accept: true } : { accept: false, reason: 'rejected' }) : raw;
    if (!v.accept)
      return { channel, unit: u.name, version: u.version, hash: u.hash, reason: v.reason || 'rejected' };
  }
  return undefined;
}

/** Runs one compute unit, its result made plain JSON (undefined → null). */
export async function runCompute(
  u: LoadedUnit,
  item: UnitItem,
  deps: Record<string, unknown>,
): Promise<unknown> {
  const r = await u.compute!(item, u.spec.config, deps);
  return r === undefined ? null : (JSON.parse(JSON.stringify(r)) as unknown);
}

/** Does compute unit `u` run on an item the `accepted` channels took? */
export function computeApplies(u: LoadedUnit, accepted: string[], anyChannels: boolean): boolean {
  if (!anyChannels) return true;
  const wanted = u.spec.channels;
  return wanted ? wanted.some((c) => accepted.includes(c)) : accepted.length > 0;
}

/**
 * The channels' decisions and the compute results for one item. A filter unit that throws makes the
 * whole message fail (it is redelivered, then dead-lettered); a compute unit that throws is deferred.
 */
export async function evaluate(
  cfg: StreamsConfig,
  units: Map<string, LoadedUnit>,
  item: UnitItem,
): Promise<Evaluation> {
  const ev: Evaluation = { channels: [], rejections: [], results: [], deferred: [] };
  for (const [channel, ch] of Object.entries(cfg.channels)) {
    if (ch.sources && !ch.sources.includes(item.source)) continue;
    const no = await runFilters(ch, channel, item, units);
    if (no) ev.rejections.push(no);
    else ev.channels.push(channel);
  }
  const anyChannels = Object.keys(cfg.channels).length > 0;
  const computes = Object.fromEntries([...units].filter(([, u]) => u.compute).map(([n, u]) => [n, u.spec]));
  const done: Record<string, unknown> = {};
  for (const name of computeOrder(computes)) {
    const u = units.get(name)!;
    if (!computeApplies(u, ev.channels, anyChannels)) continue;
    const missing = u.spec.depends_on.filter((d) => ev.deferred.some((x) => x.unit === d));
    if (missing.length > 0) {
      ev.deferred.push({ unit: name, error: `waits for ${missing.join(', ')}` });
      continue;
    }
    try {
      done[name] = await runCompute(u, item, Object.fromEntries(u.spec.depends_on.map((d) => [d, done[d]])));
      ev.results.push({ unit: name, version: u.version, hash: u.hash, result: done[name] });
    } catch (err) {
      ev.deferred.push({ unit: name, error: errorMessage(err) });
    }
  }
  return ev;
}
