import { describe, expect, it } from 'vitest';
import { dependencyCycle } from '../core/config/schema/streams.ts';
import {
  canonicalJson,
  computeOrder,
  configHash,
  fieldAt,
  fieldFilter,
  onArrival,
  onFailure,
  parsePayload,
} from './decide.ts';

describe('fieldFilter', () => {
  const p = { kind: 'pressure', data: { bar: 3.5, tags: ['a'] }, name: 'pump-7' };
  it('reads dotted paths', () => {
    expect(fieldAt(p, 'data.bar')).toBe(3.5);
    expect(fieldAt(p, 'data.tags.0')).toBe('a');
    expect(fieldAt(p, 'data.nope.x')).toBeUndefined();
  });
  it('accepts and rejects with a reason', () => {
    expect(fieldFilter({ field: 'kind', op: 'eq', value: 'pressure' }, p)).toEqual({ accept: true });
    expect(fieldFilter({ field: 'kind', op: 'eq', value: 'temp' }, p)).toEqual({
      accept: false,
      reason: 'kind: expected eq "temp", found "pressure"',
    });
    expect(fieldFilter({ field: 'data.bar', op: 'gt', value: 3 }, p).accept).toBe(true);
    expect(fieldFilter({ field: 'data.bar', op: 'lte', value: 3 }, p).accept).toBe(false);
    expect(fieldFilter({ field: 'data.bar', op: 'gt', value: '3' }, p).accept).toBe(false); // no cross-type compare
    expect(fieldFilter({ field: 'kind', op: 'in', value: ['a', 'pressure'] }, p).accept).toBe(true);
    expect(fieldFilter({ field: 'kind', op: 'not_in', value: ['pressure'] }, p).accept).toBe(false);
    expect(fieldFilter({ field: 'name', op: 'matches', value: '^pump-\\d+$' }, p).accept).toBe(true);
    expect(fieldFilter({ field: 'missing', op: 'exists' }, p)).toEqual({
      accept: false,
      reason: 'missing: expected present, found nothing',
    });
    expect(fieldFilter({ field: 'missing', op: 'exists', value: false }, p).accept).toBe(true);
    expect(fieldFilter({ field: 'kind', op: 'ne', value: 'temp' }, p).accept).toBe(true);
  });
});

describe('configHash', () => {
  it('does not depend on key order and changes with a value', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(configHash({ a: 1, b: 2 })).toBe(configHash({ b: 2, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
    expect(configHash({})).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('computeOrder and dependency loops', () => {
  it('runs dependencies first', () => {
    const order = computeOrder({ c: { depends_on: ['b'] }, b: { depends_on: ['a'] }, a: { depends_on: [] } });
    expect(order).toEqual(['a', 'b', 'c']);
  });
  it('finds a loop', () => {
    expect(dependencyCycle({ a: { depends_on: ['b'] }, b: { depends_on: ['a'] } })).toEqual(['a', 'b', 'a']);
    expect(dependencyCycle({ a: { depends_on: ['b'] }, b: {} })).toBeUndefined();
  });
});

describe('message fates', () => {
  it('processes a message up to max deliveries, then dead-letters it on arrival', () => {
    expect(onArrival(1, 3)).toEqual({ kind: 'process' });
    expect(onArrival(3, 3)).toEqual({ kind: 'process' });
    expect(onArrival(4, 3)).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringMatching(/delivered 4 times/),
    });
  });
  it('redelivers a failure with a growing delay, then dead-letters it; a permanent one at once', () => {
    const e = { message: 'db down', permanent: false };
    expect(onFailure(1, 3, e)).toEqual({ kind: 'redeliver', delayMs: 500 });
    expect(onFailure(2, 3, e)).toEqual({ kind: 'redeliver', delayMs: 1000 });
    expect(onFailure(3, 3, e)).toEqual({ kind: 'dead_letter', reason: 'failed 3 deliveries; last: db down' });
    expect(onFailure(20, 30, e)).toEqual({ kind: 'redeliver', delayMs: 60_000 });
    expect(onFailure(1, 3, { message: 'not JSON', permanent: true })).toEqual({
      kind: 'dead_letter',
      reason: 'not JSON',
    });
  });
  it('parses JSON objects and arrays only', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(parsePayload(enc('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
    expect(parsePayload(enc('[1]'))).toEqual({ ok: true, value: [1] });
    expect(parsePayload(enc('42'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not an object/),
    });
    expect(parsePayload(enc('{x'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
  });
});
