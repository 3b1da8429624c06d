/**
 * Property-based fuzzing of the REST API (issue #17, item 6): every route of the OpenAPI document,
 * with values for its parameters and body generated from the document's schemas, mixed with
 * hostile ones (NUL, half surrogate pairs, bytes that are not UTF-8, numbers out of range,
 * impossible dates, forged cursors, malformed and deeply nested JSON, oversized bodies), sent over
 * HTTP to a real server on a test database, as admin, operator, viewer and without credentials.
 *
 * Each answer must come (no hang), must not be a 5xx, and a 4xx must be JSON that says what was
 * wrong: a 400/413/415 names the parameter or field (`field`, also in `message`). Nothing may be
 * logged at error level (a failure after the answer started, such as a cut CSV, shows only there).
 *
 * Bounded by runs, not time: FUZZ_RUNS per route (default 30) times (1 + parameters / 3). A
 * failure prints fast-check's seed, path and the shrunk request; FUZZ_SEED=<seed> reruns it.
 */
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../src/api/app.ts';
import { openApiDocument } from '../src/api/openapi.ts';
import { startServer } from '../src/api/server.ts';
import type { Role } from '../src/auth/roles.ts';
import { silentLogger } from '../src/core/log.ts';
import { variableDefs } from '../src/core/variables.ts';
import { FILE_STATUSES } from '../src/files/lifecycle.ts';
import { type ApiHarness, createApiHarness, insertFile } from './helpers/api.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

type Json = Record<string, unknown>;
interface Param {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: Json;
}
interface Operation {
  method: string;
  path: string;
  produces: string;
  params: Param[];
  body?: Json;
}

/**
 * The operations of the OpenAPI document the server serves (checked equal in the first test);
 * writes first, so that the reads meet whatever hostile values the writes managed to store.
 */
const DOC = openApiDocument(routeTable(), 'test') as { paths: Record<string, Record<string, Json>> };
const OPERATIONS: Operation[] = Object.entries(DOC.paths)
  .flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const ok = (op.responses as Record<string, { content?: Json }>)[200] ??
        (op.responses as Record<string, { content?: Json }>)[201] ?? { content: {} };
      const body = op.requestBody as { content: { 'application/json': { schema: Json } } } | undefined;
      return {
        method: method.toUpperCase(),
        path,
        produces: Object.keys(ok.content ?? {})[0] ?? 'application/json',
        params: op.parameters as Param[],
        body: body?.content['application/json'].schema,
      };
    }),
  )
  .sort((a, b) => Number(a.method === 'GET') - Number(b.method === 'GET'));

// ---- values -------------------------------------------------------------------------------

const FILE_IDS = ['fz-1.raw', 'fz-2.d', 'fz 3 with space.raw', 'fz-ünï.raw'];
/** Files in error: each can be retried or ignored once (then the state refuses: 409). */
const ERROR_IDS = Array.from({ length: 16 }, (_, i) => `fz-err-${i}.raw`);
const METRIC_NAMES = ['precursors', 'proteins'];
/** Never removed or revoked by the fuzz: the callers' own users and tokens. */
const PROTECTED_USERS = new Set(['viewer', 'operator', 'admin']);

/** One character of hostile text: mostly ASCII, some of any plane, some that are not text at all. */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d', '%', '\\', '/', '\n', '\u202e', '+'),
  },
);
const hostileText = fc.string({ unit: hostileChar, maxLength: 40 });
/** Text that is not text: it holds a NUL or half of a surrogate pair somewhere. */
const badText = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'),
    fc.string({ maxLength: 8 }),
  )
  .map((parts) => parts.join(''));
const specialText = fc.constantFrom(
  '',
  'constructor',
  '__proto__',
  'toString',
  '9999999999999999999999',
  '-1',
  '1e400',
  'NaN',
  '9999-99-99',
  '0000-01-01',
  '2026-02-30',
  "'; drop table files; --",
  '%',
  'a'.repeat(3000),
);

/** Percent-encodes text the way a client could, lone surrogates as their (invalid) 3-byte form. */
function encodeText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

/** Raw bytes, percent-encoded: mostly not UTF-8. */
const rawBytes = fc
  .uint8Array({ minLength: 1, maxLength: 12 })
  .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join(''));

const pad = (n: number, w: number) => String(n).padStart(w, '0');
/** Date-shaped text with fields in and out of range, with or without time and offset. */
const dateText = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }))),
    fc.constantFrom('', 'Z', '+23:59', '-14:00', '.123456Z', '.1234567Z'),
  )
  .map(
    ([y, m, d, t, z]) =>
      `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}${t ? `T${pad(t[0], 2)}:${pad(t[1], 2)}${z}` : ''}`,
  );

const base64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** Cursors: the right shape with forged contents, or not the right shape. */
/** Timestamps in the cursor's shape, fields in and out of range (month 13, hour 99, year 0). */
const cursorTime = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
  )
  .map(
    ([y, mo, d, t]) =>
      `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(t, 2)}:${pad(t, 2)}:${pad(t, 2)}.000000Z`,
  );

/** Cursors of the right shape with forged contents. */
const forgedCursor = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('created_at', 'name', 'size') },
      fc.constantFrom('constructor', '__proto__', 'toString'),
      hostileText,
    ),
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom('asc', 'desc') }, hostileText),
    fc.oneof(
      cursorTime,
      fc.bigInt({ min: -1n, max: 2n ** 70n }).map(String),
      badText,
      hostileText,
      specialText,
    ),
    fc.oneof(fc.constantFrom(...FILE_IDS), badText, hostileText),
  )
  .map(base64url);

/** Cursors: the right shape with forged contents, or not the right shape. */
const cursorText = fc.oneof(
  { weight: 4, arbitrary: forgedCursor },
  fc.jsonValue().map(base64url),
  fc.base64String({ maxLength: 60 }),
);

type Schema = {
  enum?: string[];
  type?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  anyOf?: Json[];
};

const someDate = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true });
/** A cursor of the right shape whose key fits its sort (what the API hands out). */
const validCursor = fc
  .tuple(
    fc.constantFrom('created_at', 'name', 'size'),
    fc.constantFrom('asc', 'desc'),
    someDate,
    fc.integer({ min: 0, max: 1e12 }),
    fc.constantFrom(...FILE_IDS),
  )
  .map(([sort, dir, d, n, id]) => {
    const key = { created_at: d.toISOString().replace('Z', '000Z'), size: String(n), name: id }[sort]!;
    return base64url([sort, dir, key, id]);
  });

/** Text valid for a parameter (it may still name something that does not exist). */
function validValue(p: Param): fc.Arbitrary<string> {
  const s = p.schema as Schema;
  if (s.enum) return fc.constantFrom(...s.enum);
  const [min, max] = [s.minimum ?? 0, s.maximum ?? 1000];
  if (s.type === 'integer') return fc.integer({ min, max }).map(String);
  if (s.type === 'number')
    return fc.integer({ min: min * 1000, max: max * 1000 }).map((n) => String(n / 1000));
  if (s.format === 'date-time') return someDate.map((d) => d.toISOString());
  if (p.name === 'cursor') return validCursor;
  if (p.name === 'names')
    return fc.array(fc.constantFrom(...METRIC_NAMES, 'absent'), { minLength: 1 }).map((a) => a.join(','));
  if (p.name === 'status') return fc.subarray([...FILE_STATUSES], { minLength: 1 }).map((a) => a.join(','));
  if (p.name === 'instrument') return fc.constantFrom('astral1', 'tims1');
  if (p.in === 'path') return knownPathValue(p.name);
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern));
  return fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
}

/** Values for path parameters that name things that exist (so the fuzz reaches past the 404). */
function knownPathValue(name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'id':
      return fc.constantFrom(...FILE_IDS, ...ERROR_IDS, '1', '999999', 'no-such.raw');
    case 'name':
      return fc.constantFrom(...Object.keys(variableDefs), 'copy', 'process', 'fuzzed', 'nosuch');
    default:
      return fc.constantFrom('script', 'other', 'x');
  }
}

/** Text just outside what a parameter accepts: out of range, impossible dates, forged cursors. */
function edgeValue(p: Param): fc.Arbitrary<string> {
  const s = p.schema as Schema;
  if (s.type === 'integer' || s.type === 'number') {
    const [min, max] = [s.minimum ?? 0, s.maximum ?? 1000];
    return fc.oneof(
      fc.integer({ min: Math.floor(min) - 2, max: Math.ceil(max) + 2 }).map(String),
      fc.double({ min: min - 1, max: max + 1, noNaN: true }).map(String),
      fc.constantFrom('9999999999999999999999', '-0', '1e3', '0x10', ' 1', '1.'),
    );
  }
  if (s.format === 'date-time') return dateText;
  if (p.name === 'cursor') return cursorText;
  if (p.name === 'status')
    return fc.subarray([...FILE_STATUSES, 'bogus', ''], { minLength: 1 }).map((a) => a.join(','));
  return specialText;
}

/** An encoded value that a parameter should refuse (or accept: it may happen to be valid). */
function hostileValue(p: Param): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: edgeValue(p).map(encodeText) },
    { weight: 3, arbitrary: badText.map(encodeText) },
    { weight: 1, arbitrary: hostileText.map(encodeText) },
    { weight: 1, arbitrary: specialText.map(encodeText) },
    { weight: 1, arbitrary: rawBytes },
  );
}

// ---- bodies -------------------------------------------------------------------------------

/** A JSON value valid for a body property. */
function validJson(schema: Json): fc.Arbitrary<unknown> {
  const s = schema as Schema;
  if (s.anyOf) return fc.oneof(...s.anyOf.map(validJson));
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.type === 'integer') return fc.integer({ min: s.minimum ?? 0, max: s.maximum ?? 1000 });
  if (s.type === 'null') return fc.constant(null);
  if (s.type === 'string' && s.pattern) return fc.stringMatching(new RegExp(s.pattern));
  if (s.type === 'string')
    return fc.string({ unit: 'grapheme', minLength: s.minLength ?? 0, maxLength: s.maxLength ?? 40 });
  // a variable's value: its type depends on the variable
  return fc.oneof(
    fc.integer({ min: 0, max: 100 }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom('raise', 'add'),
  );
}

/** A JSON value a body property should refuse (or may accept). */
const hostileJson = fc.oneof(
  badText,
  fc.dictionary(badText, fc.constant(1), { minKeys: 1, maxKeys: 1 }),
  hostileText,
  specialText,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1.5, 1e300, -1e300, 2 ** 53 + 1, -1, 100_001),
);

interface Body {
  text: string;
  type: string;
}

/** A body that prints shortened in a counterexample (one is 70 KiB long). */
function body(text: string, type = 'application/json'): Body {
  const short = text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text;
  return { text, type, [fc.toStringMethod]: () => JSON.stringify({ type, text: short }) } as Body;
}

/** Bodies that are not the object a route wants: malformed, nested deep, too large, not JSON. */
function malformedBody(op: Operation): fc.Arbitrary<Body> {
  const first = Object.keys((op.body?.properties ?? {}) as Json)[0] ?? 'x';
  return fc.oneof(
    fc
      .constantFrom('{"a":', '{', '[]', 'null', '1', '"x"', '{"__proto__":{"x":1}}', '\u0000')
      .map((t) => body(t)),
    fc.integer({ min: 30, max: 5000 }).map((n) => body(`{"${first}":${'['.repeat(n)}${']'.repeat(n)}}`)),
    fc.constant(0).map(() => body(`{"x":"${'a'.repeat(70 * 1024)}"}`)),
    hostileText.map((t) => body(t, 'text/plain')),
  );
}

// ---- requests -----------------------------------------------------------------------------

type Caller = Role | 'anonymous';
interface Request {
  caller: Caller;
  method: string;
  url: string;
  body: Body | undefined;
}

/**
 * How hostile a request is: `valid` (every value valid), `one` (one parameter or body field
 * hostile, the others valid, so that the hostile one is what the route sees) or `chaos`
 * (anything anywhere, unknown and repeated parameters, malformed bodies).
 */
type Mode = 'valid' | 'one' | 'chaos';

/** The parameters and body properties of an operation as one list of slots. */
interface Slot {
  name: string;
  where: 'path' | 'query' | 'body';
  required: boolean;
  valid: fc.Arbitrary<unknown>;
  hostile: fc.Arbitrary<unknown>;
}

function slotsOf(op: Operation): Slot[] {
  const required = new Set((op.body?.required ?? []) as string[]);
  return [
    ...op.params.map((p) => ({
      name: p.name,
      where: p.in,
      required: p.required,
      valid: validValue(p).map(encodeText),
      hostile: hostileValue(p),
    })),
    ...Object.entries((op.body?.properties ?? {}) as Record<string, Json>).map(([name, schema]) => ({
      name,
      where: 'body' as const,
      required: required.has(name),
      valid: validJson(schema),
      hostile: hostileJson,
    })),
  ];
}

/** With a cursor, the sort and dir it was made for (else it is refused before anything else). */
function matchCursor(values: Map<string, unknown>): void {
  const cursor = values.get('cursor');
  if (typeof cursor !== 'string') return;
  try {
    const [sort, dir] = JSON.parse(
      Buffer.from(decodeURIComponent(cursor), 'base64url').toString(),
    ) as unknown[];
    if (['created_at', 'name', 'size'].includes(sort as string) && ['asc', 'desc'].includes(dir as string)) {
      values.set('sort', sort);
      values.set('dir', dir);
    }
  } catch {
    // not a cursor of the right shape: sent as it is
  }
}

function requestOf(op: Operation): fc.Arbitrary<Request> {
  const slots = slotsOf(op);
  const present = (s: Slot, arb: fc.Arbitrary<unknown>) =>
    s.required ? arb : fc.option(arb, { freq: 2, nil: undefined });
  return fc
    .record({
      caller: fc.constantFrom<Caller>('admin', 'admin', 'admin', 'operator', 'viewer', 'anonymous'),
      mode: fc.constantFrom<Mode>('valid', 'one', 'one', 'one', 'one', 'one', 'chaos', 'chaos'),
      target: fc.nat(),
      valid: fc.tuple(...slots.map((s) => present(s, s.valid))),
      hostile: fc.tuple(...slots.map((s) => present(s, s.hostile))),
      extra: fc.tuple(fc.oneof(hostileText.map(encodeText), rawBytes), hostileText.map(encodeText)),
      malformed: fc.option(malformedBody(op), { freq: 2, nil: undefined }),
    })
    .map((r) => {
      const hostileAt = r.target % Math.max(1, slots.length);
      const values = new Map<string, unknown>();
      slots.forEach((s, i) => {
        const hostile = r.mode === 'chaos' || (r.mode === 'one' && i === hostileAt);
        const v = hostile ? (r.hostile[i] ?? r.valid[i]) : r.valid[i];
        if (v !== undefined) values.set(`${s.where}:${s.name}`, v);
      });
      const query = new Map(
        [...values].filter(([k]) => k.startsWith('query:')).map(([k, v]) => [k.slice(6), v]),
      );
      if (r.mode !== 'chaos') matchCursor(query);
      let url = op.path;
      for (const s of slots.filter((x) => x.where === 'path'))
        url = url.replace(`{${s.name}}`, String(values.get(`path:${s.name}`)));
      const pairs = [...query].map(([k, v]) => `${k}=${v}`);
      if (r.mode === 'chaos') {
        if (pairs.length > 0) pairs.push(pairs[0]!);
        pairs.push(`${r.extra[0]}=${r.extra[1]}`);
      }
      const fields = Object.fromEntries(
        [...values].filter(([k]) => k.startsWith('body:')).map(([k, v]) => [k.slice(5), v]),
      );
      let sent: Body | undefined;
      // fetch sends no body with a GET
      if (r.mode === 'chaos' && op.method !== 'GET' && r.malformed) sent = r.malformed;
      else if (op.body && (Object.keys(fields).length > 0 || op.body.required))
        sent = body(JSON.stringify(fields));
      return {
        caller: r.caller,
        method: op.method,
        url: pairs.length > 0 ? `${url}?${pairs.join('&')}` : url,
        body: sent,
      };
    });
}

/** Whether a request would remove the callers' own users or tokens (left out: not a defect). */
function selfHarm(r: Request): boolean {
  const m = /^\/api\/users\/([^/?]+)(\/tokens\/([^/?]+))?/.exec(r.url);
  if (r.method !== 'DELETE' || !m) return false;
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    return false;
  }
  return PROTECTED_USERS.has(name) && (m[3] === undefined || m[3] === 'script');
}

// ---- the server ---------------------------------------------------------------------------

let h: ApiHarness;
let server: { url: string; close(): Promise<void> };
const logged: { level: number; msg: string; err?: unknown }[] = [];

beforeAll(async () => {
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) },
  );
  h = await createApiHarness({ log });
  for (const [i, id] of FILE_IDS.entries())
    await insertFile(h.db, { id, instrument: i % 2 ? 'tims1' : 'astral1', status: i ? 'done' : 'error' });
  for (const id of ERROR_IDS) await insertFile(h.db, { id, status: 'error' });
  await h.db.exec(
    `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
     select id, 'qc', 1, m, length(id), now() from files, unnest($1::text[]) m`,
    [METRIC_NAMES],
  );
  server = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
});
afterAll(async () => {
  await server?.close();
  await h?.close();
});

/** Sends a request and reads the whole answer (an event stream: only its head). */
async function send(r: Request, produces: string): Promise<{ status: number; type: string; text: string }> {
  const headers: Record<string, string> = {};
  if (r.caller !== 'anonymous') headers.authorization = `Bearer ${h.tokens[r.caller]}`;
  if (r.body) headers['content-type'] = r.body.type;
  const res = await fetch(`${server.url}${r.url}`, { method: r.method, headers, body: r.body?.text });
  const type = res.headers.get('content-type') ?? '';
  if (res.ok && produces === 'text/event-stream') {
    await res.body?.cancel();
    return { status: res.status, type, text: '' };
  }
  return { status: res.status, type, text: await res.text() };
}

/** The properties every answer has. */
function checkAnswer(r: Request, a: { status: number; type: string; text: string }): void {
  const what = `${r.caller} ${r.method} ${r.url.slice(0, 300)} body=${r.body?.text.slice(0, 200)} → ${a.status} ${a.text.slice(0, 300)}`;
  // a 500 may come from what an earlier request stored: the server log says what failed
  const cause =
    a.status >= 500 ? ` — server log: ${JSON.stringify(logged.at(-1)?.err ?? logged.at(-1))}` : '';
  expect(a.status, `${what}${cause}`.slice(0, 2000)).toBeLessThan(500);
  if (a.status < 400) return;
  expect(a.type, what).toMatch(/^application\/json/);
  const body = JSON.parse(a.text) as { code?: unknown; message?: unknown; field?: unknown };
  expect(typeof body.code === 'string' && body.code.length > 0, what).toBe(true);
  expect(typeof body.message === 'string' && body.message.length > 0, what).toBe(true);
  if ([400, 413, 415].includes(a.status)) {
    expect(typeof body.field === 'string' && body.field.length > 0, what).toBe(true);
    expect(String(body.message).toLowerCase(), what).toContain(String(body.field).toLowerCase());
  }
}

describe('fuzzing every route of the OpenAPI document', () => {
  it('fuzzes the document the server serves', async () => {
    const res = await fetch(`${server.url}/api/openapi.json`);
    const served = (await res.json()) as typeof DOC;
    expect(Object.keys(served.paths).sort()).toEqual(Object.keys(DOC.paths).sort());
    expect(OPERATIONS.length).toBeGreaterThanOrEqual(30);
  });

  for (const op of OPERATIONS) {
    it(`${op.method} ${op.path}: no 5xx, every 4xx says what was wrong`, async () => {
      const property = fc.asyncProperty(requestOf(op), async (r) => {
        fc.pre(!selfHarm(r));
        checkAnswer(r, await send(r, op.produces));
      });
      // a route with many parameters gets more runs: in most, one of them is the hostile one
      const numRuns = Math.ceil(RUNS * (1 + slotsOf(op).length / 3));
      await fc.assert(property, { numRuns, seed: SEED });
    });
  }

  it('all routes interleaved: what one request stores, no later one fails on', async () => {
    const any = fc.oneof(...OPERATIONS.map((op) => requestOf(op).map((r) => ({ r, op }))));
    const property = fc.asyncProperty(fc.array(any, { minLength: 1, maxLength: 20 }), async (list) => {
      for (const { r, op } of list) {
        fc.pre(!selfHarm(r));
        checkAnswer(r, await send(r, op.produces));
      }
    });
    await fc.assert(property, { numRuns: RUNS, seed: SEED });
  });

  it('logged nothing at error level, and still answers', async () => {
    const errors = logged.filter((l) => l.level >= 50);
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([]);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
  });
});
