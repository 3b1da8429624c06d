/**
 * What `sluice units list` and `GET /api/units` show: every configured unit (filter, compute,
 * reaction) with its version and config hash as the config loads it now, and what it has produced.
 */
import type { ReactionsConfig } from '../core/config/schema/reactions.ts';
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import { configHash } from './decide.ts';
import { builtinIdentity, loadReactionUnit } from './reactions.ts';
import { listReactionRuns } from './reactions-repo.ts';
import { unitResultSummary } from './repo.ts';
import { loadUnits } from './units.ts';

export interface UnitListing {
  name: string;
  kind: 'filter' | 'compute' | 'reaction';
  /** The module (units, unit reactions) or the built-in action. */
  module: string;
  version: string | null;
  config_hash: string;
  /** Why the module could not be loaded (version unknown). */
  error: string | null;
  /** Compute: result rows and items with one; reaction: runs (recent ones read). */
  results: number;
  items: number;
  last_at: Date | null;
  /** Reactions: cron or interval. */
  schedule: string | null;
}

async function streamUnits(q: Queryable, streams: StreamsConfig, baseDir: string): Promise<UnitListing[]> {
  const summary = new Map((await unitResultSummary(q)).map((s) => [s.unit, s]));
  const out: UnitListing[] = [];
  for (const [name, spec] of Object.entries(streams.units)) {
    let version: string | null = null;
    let error: string | null = null;
    try {
      version = (await loadUnits({ ...streams, units: { [name]: spec } }, baseDir)).get(name)!.version;
    } catch (err) {
      error = errorMessage(err);
    }
    const s = summary.get(name);
    out.push({
      name,
      kind: spec.kind,
      module: spec.module,
      version,
      config_hash: configHash(spec.config),
      error,
      results: s?.results ?? 0,
      items: s?.items ?? 0,
      last_at: s?.last_at ?? null,
      schedule: null,
    });
  }
  return out;
}

async function reactionUnits(
  q: Queryable,
  reactions: ReactionsConfig,
  baseDir: string,
): Promise<UnitListing[]> {
  const out: UnitListing[] = [];
  for (const [name, r] of Object.entries(reactions)) {
    let id: { unit: string; version: string | null; hash: string } = {
      unit: r.action.type,
      version: null,
      hash: configHash(r.action),
    };
    let error: string | null = null;
    try {
      id =
        r.action.type === 'unit'
          ? (await loadReactionUnit(name, r.action, baseDir)).id
          : builtinIdentity(r.action);
    } catch (err) {
      error = errorMessage(err);
    }
    const runs = await listReactionRuns(q, { reaction: name, limit: 1000 });
    out.push({
      name,
      kind: 'reaction',
      module: r.action.type === 'unit' ? r.action.module : `builtin:${r.action.type}`,
      version: id.version,
      config_hash: id.hash,
      error,
      results: runs.length,
      items: runs.reduce((n, x) => n + (x.selected ?? 0), 0),
      last_at: runs[0]?.finished_at ?? null,
      schedule: r.cron ?? `every ${r.every_seconds} s`,
    });
  }
  return out;
}

export async function listUnits(
  q: Queryable,
  cfg: { streams: StreamsConfig; reactions: ReactionsConfig },
  baseDir: string,
): Promise<UnitListing[]> {
  return [
    ...(await streamUnits(q, cfg.streams, baseDir)),
    ...(await reactionUnits(q, cfg.reactions, baseDir)),
  ];
}
