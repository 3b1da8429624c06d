import { describe, expect, it } from 'vitest';
import type { StreamsConfig, UnitConfig } from '../core/config/schema/streams.ts';
import { configHash } from './decide.ts';
import { evaluate, type LoadedUnit } from './units.ts';

const spec = (over: Partial<UnitConfig>): UnitConfig => ({
  kind: 'compute',
  module: './x.mjs',
  config: {},
  depends_on: [],
  ...over,
});

function compute(
  name: string,
  fn: LoadedUnit['compute'],
  over: Partial<UnitConfig> = {},
): [string, LoadedUnit] {
  const s = spec(over);
  return [name, { name, spec: s, version: '1', hash: configHash(s.config), compute: fn }];
}

const item = (payload: unknown) => ({ source: 'lims', subject: 'lims.ev', seq: 1, payload });

describe('evaluate', () => {
  const cfg: StreamsConfig = {
    sources: {},
    channels: {
      hot: { filters: [{ field: 'bar', op: 'gt', value: 5 }] },
      other: { sources: ['elsewhere'], filters: [] },
      all: { filters: [] },
    },
    units: {},
  };

  it('records each channel decision, runs compute units in dependency order, and defers failures with their dependents', async () => {
    const units = new Map([
      compute('total', (_i, _c, deps) => ({ sum: (deps.base as { v: number }).v + 1 }), {
        depends_on: ['base'],
      }),
      compute('base', (i) => ({ v: (i.payload as { bar: number }).bar }), { config: { k: 1 } }),
      compute('broken', () => {
        throw new Error('no luck');
      }),
      compute('after_broken', () => 1, { depends_on: ['broken'] }),
      compute('hot_only', () => 'hot', { channels: ['hot'] }),
    ]);
    const ev = await evaluate(cfg, units, item({ bar: 3 }));
    expect(ev.channels).toEqual(['all']); // `other` is for another source; `hot` rejects
    expect(ev.rejections).toEqual([
      {
        channel: 'hot',
        unit: 'field',
        version: 'builtin-1',
        hash: configHash({ field: 'bar', op: 'gt', value: 5 }),
        reason: 'bar: expected gt 5, found 3',
      },
    ]);
    expect(ev.results.map((r) => [r.unit, r.result])).toEqual([
      ['base', { v: 3 }],
      ['total', { sum: 4 }],
    ]);
    expect(ev.results[0]!.hash).toBe(configHash({ k: 1 }));
    expect(ev.deferred).toEqual([
      { unit: 'broken', error: 'no luck' },
      { unit: 'after_broken', error: 'waits for broken' },
    ]);
  });

  it('runs compute units on every item when no channel is configured, and on none when no channel accepts', async () => {
    const units = new Map([compute('c', () => undefined)]);
    const none = await evaluate({ sources: {}, channels: {}, units: {} }, units, item({}));
    expect(none.results).toEqual([{ unit: 'c', version: '1', hash: configHash({}), result: null }]);
    const rejected = await evaluate(
      { sources: {}, channels: { hot: { filters: [{ field: 'bar', op: 'exists' }] } }, units: {} },
      units,
      item({}),
    );
    expect(rejected.results).toEqual([]);
  });
});
