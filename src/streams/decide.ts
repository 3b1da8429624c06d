/**
 * The pure decisions of the stream consumer (src/streams/consumer.ts is the I/O shell): the built-in
 * field filter, the hash of a unit's config, the order compute units run in, and what to do with a
 * message that arrives again or could not be stored (redeliver later, or dead-letter it).
 */
import { createHash } from 'node:crypto';
import type { FieldFilterConfig } from '../core/config/schema/streams.ts';

/** The value at a dotted path (`data.pressure`, `items.0.id`) of a parsed JSON payload, or undefined. */
export function fieldAt(payload: unknown, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export type FilterVerdict = { accept: true } | { accept: false; reason: string };

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function holds(cond: FieldFilterConfig, v: unknown): boolean {
  const same = (x: unknown) => JSON.stringify(x) === JSON.stringify(v);
  const list = Array.isArray(cond.value) ? (cond.value as unknown[]) : [cond.value];
  const c = compare(v, cond.value);
  switch (cond.op) {
    case 'eq':
      return same(cond.value);
    case 'ne':
      return !same(cond.value);
    case 'in':
      return list.some(same);
    case 'not_in':
      return !list.some(same);
    case 'exists':
      return (v !== undefined) === (cond.value !== false);
    case 'matches':
      return typeof v === 'string' && new RegExp(String(cond.value)).test(v);
    case 'lt':
      return c !== undefined && c < 0;
    case 'lte':
      return c !== undefined && c <= 0;
    case 'gt':
      return c !== undefined && c > 0;
    case 'gte':
      return c !== undefined && c >= 0;
  }
}

/** The built-in declarative field filter: does `payload` pass `cond`, and if not, why not. */
export function fieldFilter(cond: FieldFilterConfig, payload: unknown): FilterVerdict {
  const v = fieldAt(payload, cond.field);
  if (holds(cond, v)) return { accept: true };
  const expected =
    cond.op === 'exists' ? (cond.value === false ? 'absent' : 'present') : `${cond.op} ${show(cond.value)}`;
  return { accept: false, reason: `${cond.field}: expected ${expected}, found ${show(v)}` };
}

/** JSON with object keys sorted, so equal configs give equal text whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The hash stored beside every result: sha256 of the canonical JSON of the unit's config (16 hex). */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/** Compute unit names in an order where every unit comes after the units it depends on. */
export function computeOrder(units: Record<string, { depends_on: string[] }>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (u: string) => {
    if (seen.has(u)) return;
    seen.add(u);
    for (const d of units[u]?.depends_on ?? []) if (d in units) visit(d);
    out.push(u);
  };
  for (const u of Object.keys(units).sort()) visit(u);
  return out;
}

export type MessageFate =
  | { kind: 'process' }
  | { kind: 'dead_letter'; reason: string }
  | { kind: 'redeliver'; delayMs: number };

/**
 * A message as it arrives: delivered more than `maxDeliveries` times means every earlier delivery
 * ended without a stored item and without a failure we saw (the replica holding it died each time):
 * it goes to the dead letters without being handled again.
 */
export function onArrival(deliveries: number, maxDeliveries: number): MessageFate {
  if (deliveries > maxDeliveries) {
    return {
      kind: 'dead_letter',
      reason: `delivered ${deliveries} times and never stored (the worker handling it stopped each time)`,
    };
  }
  return { kind: 'process' };
}

/**
 * A message whose storing failed: a permanent problem (not JSON) goes to the dead letters at once; any
 * other is redelivered with a growing delay until its `maxDeliveries`-th delivery has failed too.
 */
export function onFailure(
  deliveries: number,
  maxDeliveries: number,
  error: { message: string; permanent: boolean },
): MessageFate {
  if (error.permanent) return { kind: 'dead_letter', reason: error.message };
  if (deliveries >= maxDeliveries) {
    return { kind: 'dead_letter', reason: `failed ${deliveries} deliveries; last: ${error.message}` };
  }
  return { kind: 'redeliver', delayMs: Math.min(60_000, 500 * 2 ** (deliveries - 1)) };
}

/** Parses a message body: a JSON object or array, else a permanent failure. */
export function parsePayload(data: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') {
      return { ok: false, reason: `payload is JSON but not an object or array: ${text.slice(0, 80)}` };
    }
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: `payload is not JSON (${(err as Error).message}): ${text.slice(0, 80)}` };
  }
}
