/**
 * `streams.compute`: a compute unit on one stream item, run by the engine when running it beside the
 * item's storing failed (or a unit it depends on did). The engine retries a throw with backoff; the
 * result row is written in the transaction that completes the task, with the unit's current version
 * and config hash. A unit that waits for a dependency's result puts itself back (`again`).
 */
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import { defineHandler, Kind } from '../tasks/catalogue.ts';
import { getItem, insertResults, latestResults } from './repo.ts';
import { computeApplies, type LoadedUnit, loadUnits, runCompute } from './units.ts';

const DEPENDENCY_RECHECK_MS = 5_000;

export interface ComputeDeps {
  streams: StreamsConfig;
  baseDir: string;
}

export function computeHandler(deps: ComputeDeps) {
  let units: Promise<Map<string, LoadedUnit>> | undefined;
  return defineHandler(Kind.streamsCompute, {
    async run(ctx) {
      units ??= loadUnits(deps.streams, deps.baseDir);
      const loaded = await units;
      const { item: itemId, unit: name } = ctx.payload;
      const unit = loaded.get(name);
      const item = await getItem(ctx.db, itemId);
      if (!unit?.compute || !item) {
        ctx.log.warn(
          { item: itemId, unit: name },
          'stream item or compute unit no longer exists; nothing to do',
        );
        await ctx.complete();
        return;
      }
      const anyChannels = Object.keys(deps.streams.channels).length > 0;
      const wanted = unit.spec.depends_on.filter((d) => {
        const u = loaded.get(d);
        return u !== undefined && computeApplies(u, item.channels, anyChannels);
      });
      const have = await latestResults(ctx.db, itemId, wanted);
      const missing = wanted.filter((d) => !(d in have));
      if (missing.length > 0) {
        ctx.log.info(
          { item: itemId, unit: name, waits_for: missing },
          'compute unit waits for its dependencies',
        );
        await ctx.again(DEPENDENCY_RECHECK_MS);
        return;
      }
      const result = await runCompute(
        unit,
        { source: item.source, subject: item.subject, seq: item.stream_seq, payload: item.payload },
        have,
      );
      await ctx.complete((tx) =>
        insertResults(tx, [
          { itemId, unit: name, version: unit.version, hash: unit.hash, result: JSON.stringify(result) },
        ]),
      );
    },
  });
}
