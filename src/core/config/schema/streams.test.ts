import { describe, expect, it } from 'vitest';
import { parseAt as parse, refusal as problems, yaml } from '../test-helpers.ts';

describe('streams config', () => {
  it('fills the defaults', () => {
    const c = parse(yaml`
      streams:
        sources:
          lims: { servers: [nats://127.0.0.1:4222], stream: LIMS }
    `);
    expect(c.streams.sources.lims).toMatchObject({
      durable: 'sluice',
      max_in_flight: 256,
      max_deliveries: 5,
      subjects: [],
    });
    expect(c.streams.channels).toEqual({});
    expect(parse('data_dir: ./x\n').streams).toEqual({ sources: {}, channels: {}, units: {} });
  });

  it('says which reference is wrong and what was expected', () => {
    const msg = problems(yaml`
      streams:
        sources:
          lims: { servers: [nats://127.0.0.1:4222], stream: LIMS, max_in_flight: 0 }
        channels:
          hot:
            sources: [lab]
            filters:
              - { field: kind, op: equals, value: x }
              - { unit: nope }
        units:
          a: { kind: compute, module: ./a.mjs, depends_on: [b] }
          b: { kind: compute, module: ./b.mjs, depends_on: [a], channels: [cold] }
    `);
    expect(msg).toContain('streams.sources.lims.max_in_flight');
    expect(msg).toContain("unknown source 'lab': expected one of lims");
    expect(msg).toContain("unknown filter unit 'nope': expected one of none defined");
    expect(msg).toContain("unknown channel 'cold': expected one of hot");
    expect(msg).toContain('compute units depend on each other in a loop: a → b → a');
    expect(msg).toContain(
      'streams.channels.hot.filters[0]: expected a field condition {field, op, value} or a filter unit {unit: NAME}',
    );
  });
});
