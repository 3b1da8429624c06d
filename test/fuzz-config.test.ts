// biome-ignore-all lint/suspicious/noTemplateCurlyInString: hostile values include ${...} interpolation
/**
 * Property-based fuzzing of the config loader (issue #17 item 6): random YAML documents and mutations
 * of the example configs (wrong types, unknown keys, huge numbers, NUL, bytes that are not UTF-8,
 * deep nesting, anchors) either load or fail with a ConfigError (exit 2) whose every problem names a
 * file:line or a field, never another exception and never a hang. Each property is bounded by its
 * number of runs; the caps in src/core/config/limits.ts bound each run. A failure prints the seed and
 * the shrunk input: replay it with `fc.assert(..., { seed, path })`.
 *
 * Last, `sluice config check` on a few hostile files exits 2 with a one-line error and a hint, no stack.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  ConfigInvalidError,
  type LoadedConfig,
  loadConfig,
  parseConfigText,
  redactedConfig,
  starterConfig,
} from '../src/core/config/index.ts';
import { ConfigError } from '../src/core/errors.ts';
import { sluice } from './helpers/cli.ts';

const EXAMPLES = [
  starterConfig(),
  readFileSync(resolve(import.meta.dirname, '../deploy/sluice.yaml.example'), 'utf8'),
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The contract: a config (which `config check` can print), or a ConfigError with exit code 2 whose
 * message names the file or the environment variable, and whose listed problems each name a place.
 */
function expectContract(run: () => LoadedConfig, file: string): void {
  let loaded: LoadedConfig;
  try {
    loaded = run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // anything else is the bug this suite looks for
    expect(err.exitCode).toBe(2);
    expect(err.message).not.toMatch(/\n\s+at /);
    expect(err.hint, err.message).toBeTruthy();
    expect(err.message.includes(file) || err.message.includes('environment variable'), err.message).toBe(
      true,
    );
    if (err instanceof ConfigInvalidError) {
      for (const p of err.problems) expect(p.where ?? p.path, p.message).toBeTruthy();
    }
    return;
  }
  expectCleanText(loaded.config, []);
  stringify(redactedConfig(loaded)); // what `config check` prints next must not throw either
}

/** A loaded config holds no NUL and no half of a surrogate pair, in keys or values. */
function expectCleanText(v: unknown, path: PropertyKey[]): void {
  const clean = (s: string) => !s.includes('\u0000') && new TextDecoder().decode(Buffer.from(s)) === s;
  if (typeof v === 'string') expect(clean(v), `${path.join('.')}: ${JSON.stringify(v)}`).toBe(true);
  else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) expectCleanText(x, [...path, i]);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      expect(clean(k), `key ${JSON.stringify(k)} in ${path.join('.')}`).toBe(true);
      expectCleanText(x, [...path, k]);
    }
  }
}

/** As expectContract, for a file of these bytes; bytes that are not UTF-8 must be refused. */
async function expectContractOnFile(bytes: Uint8Array, name: string): Promise<void> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  let result: LoadedConfig | Error;
  try {
    result = await loadConfig({ path: file, env: 'local', environ: {} });
  } catch (err) {
    result = err as Error;
  }
  if (!isUtf8(bytes)) expect(result, 'bytes that are not UTF-8 were accepted').toBeInstanceOf(ConfigError);
  expectContract(() => {
    if (result instanceof Error) throw result;
    return result;
  }, file);
}

const HOSTILE_SCALARS = [
  '~',
  '""',
  '-1',
  '0',
  '99999999999999999999999',
  '1e400',
  '-.inf',
  '.nan',
  '0x1F',
  '0o777',
  'true',
  '"8080"',
  '"a\\0b"',
  '"\\ud800"',
  '"\\x00"',
  '[]',
  '{}',
  '[1, [2, [3]]]',
  '{a: {b: {c: d}}}',
  '*nowhere',
  '&anchor x',
  '!!binary aGVsbG8=',
  '!!set {a, b}',
  '!custom tag',
  '"${UNSET_VARIABLE}"',
  '"${file:}"',
  '"${file:/dev/zero}"',
  '"${file:/nonexistent/secret}"',
  '"${BAD-NAME}"',
  '"$${literal}"',
  'postgres://u:p@h:99999/db',
  'https://h:0/x',
  `"${'x'.repeat(5000)}"`,
  '|\n    block\n    text',
  '>-\n    folded',
  '? complex\n  : key',
  '\t tab',
  '- list at value',
  'a: b: c',
  "'unterminated",
  '"unterminated',
  '[unclosed',
  '@reserved',
  '`backtick',
  '%directive',
  '--- second document',
];

const hostileValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_SCALARS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.oneof(fc.bigInt(), fc.double()).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
);

type Mutation =
  | { op: 'value'; line: number; value: string }
  | { op: 'unknown-key'; line: number; key: string; value: string }
  | { op: 'delete'; line: number }
  | { op: 'dedent'; line: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('value' as const), line: fc.nat(), value: hostileValue }),
  fc.record({
    op: fc.constant('unknown-key' as const),
    line: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('colour', 'port', '__proto__', '<<', 'constructor', '"a\\0b"'),
      fc.string(),
    ),
    value: hostileValue,
  }),
  fc.record({ op: fc.constant('delete' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('dedent' as const), line: fc.nat() }),
);

/** Applies one mutation to the lines of a YAML file. */
function mutate(lines: string[], m: Mutation): string[] {
  const out = [...lines];
  const i = m.line % out.length;
  const line = out[i] ?? '';
  const indent = /^\s*/.exec(line)?.[0] ?? '';
  switch (m.op) {
    case 'value': {
      const kv = /^(\s*(?:- )?[^#\s][^:#]*:)(\s.*)?$/.exec(line);
      if (kv) out[i] = `${kv[1]} ${m.value}`;
      else out.splice(i, 0, `${indent}x: ${m.value}`);
      break;
    }
    case 'unknown-key':
      out.splice(i, 0, `${indent}${m.key}: ${m.value}`);
      break;
    case 'delete':
      out.splice(i, 1);
      break;
    case 'dedent':
      out[i] = line.trimStart();
      break;
  }
  return out;
}

const mutatedExample = fc
  .tuple(fc.constantFrom(...EXAMPLES.keys()), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([e, ms]) => ms.reduce(mutate, (EXAMPLES[e] ?? '').split('\n')).join('\n'));

/** `a0: &a0 [x ×width]`, then `aN: &aN [*aN-1 ×width]`, used at the end by a real field. */
const aliasChain = fc
  .record({
    levels: fc.integer({ min: 1, max: 12 }),
    width: fc.integer({ min: 1, max: 12 }),
    usedBy: fc.constantFrom('variables', 'worker:\n  tags', 'pools', 'instruments', 'x-unknown'),
  })
  .map(({ levels, width, usedBy }) => {
    let s = `a0: &a0 [${Array(width).fill('x').join(', ')}]\n`;
    for (let l = 1; l <= levels; l++)
      s += `a${l}: &a${l} [${Array(width)
        .fill(`*a${l - 1}`)
        .join(', ')}]\n`;
    return `${s}${usedBy}: *a${levels}\n`;
  });

describe('config loader fuzz', () => {
  const file = '/srv/sluice/sluice.yaml';

  it('mutated example configs load or fail with a ConfigError naming the place', () => {
    fc.assert(
      fc.property(mutatedExample, (text) => {
        expectContract(() => parseConfigText(text, file), file);
      }),
      { numRuns: 400 },
    );
  });

  it('random YAML documents load or fail with a ConfigError naming the place', () => {
    const doc = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }).map((v) => stringify(v)),
      fc
        .dictionary(
          fc.constantFrom('data_dir', 'database', 'server', 'instruments', 'pools', 'log'),
          fc.anything(),
        )
        .map((v) => stringify(v)),
      fc.string({ maxLength: 200 }),
    );
    fc.assert(
      fc.property(doc, (text) => {
        expectContract(() => parseConfigText(text, file), file);
      }),
      { numRuns: 300 },
    );
  });

  it('chained anchors of any depth and width are refused or loaded, never expanded without bound', () => {
    fc.assert(
      fc.property(aliasChain, (text) => {
        expectContract(() => parseConfigText(text, file), file);
      }),
      { numRuns: 100 },
    );
  });

  it('arbitrary bytes spliced into a config file: not UTF-8, NUL, control characters', async () => {
    const spliced = fc
      .tuple(fc.constantFrom(...EXAMPLES.keys()), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }))
      .map(([e, at, bytes]) => {
        const base = Buffer.from(EXAMPLES[e] ?? '');
        const i = at % base.length;
        return Buffer.concat([base.subarray(0, i), bytes, base.subarray(i)]);
      });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(spliced, async (bytes) => {
        await expectContractOnFile(bytes, `spliced-${n++}.yaml`);
      }),
      { numRuns: 150 },
    );
  });
});

describe('sluice config check on hostile files', () => {
  let chain = '';
  for (let l = 0; l < 8; l++) {
    const items = Array(9).fill(l === 0 ? 'x' : `*${String.fromCharCode(96 + l)}`);
    chain += `${String.fromCharCode(97 + l)}: &${String.fromCharCode(97 + l)} [${items.join(', ')}]\n`;
  }
  const files: [string, string | Buffer, RegExp][] = [
    ['eight chained anchors', chain, /alias \*d expands the file beyond 10000 values/],
    ['a NUL escape', 'data_dir: "/srv/a\\0b"\n', /data_dir: value: expected text without NUL/],
    ['latin-1 bytes', Buffer.from('data_dir: /srv/caf\xe9\n', 'latin1'), /:1:19: invalid UTF-8/],
    [
      'a port beyond 65535',
      'database:\n  url: postgres://db:99999/s\n',
      /database\.url: expected a URL whose port/,
    ],
    ['2 MiB', `# ${'x'.repeat(2 * 1024 * 1024)}\n`, /is larger than 1\.0 MiB/],
    ['nesting 5000 deep', `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /nesting too deep/],
  ];

  it.each(files)('%s: exit 2, the reason and a hint, no stack trace', async (name, content, reason) => {
    const file = join(dir, `${name.replaceAll(' ', '-')}.yaml`);
    await writeFile(file, content);
    const r = await sluice(['--config', file, 'config', 'check']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toContain('\n  hint: ');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
