/**
 * The native stat helper (native/stat-many.c) against the pure-Node path (SLUICE_NATIVE=0's), on
 * the same tree: equal sizes, mtimes (sub-millisecond ones too), kinds, gone names and faults.
 * The helper is built here when it is missing or stale; without a C compiler the comparisons are
 * skipped, except under CI=true, where they fail.
 */
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNative, nativePaths, nativeStale } from '../../scripts/build-native.mjs';
import { nameToText } from '../core/names.ts';
import { FsThread, STAT_ERROR, STAT_FILE, STAT_FOLDER, STAT_GONE, STAT_OTHER } from './fs-thread.ts';
import { listParts, loadNativeStat, lstatMany, type NativeStat } from './native-stat.mjs';

let dir: string;
let native: NativeStat | undefined;
let why = '';

beforeAll(() => {
  if (nativeStale() || !existsSync(nativePaths().addon)) buildNative();
  const load = loadNativeStat({});
  native = load.helper;
  if (!load.helper) why = load.why;
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-native-'));
  const at = (n: string | Buffer) =>
    typeof n === 'string' ? path.join(dir, n) : Buffer.concat([Buffer.from(`${dir}/`), n]);
  writeFileSync(at('a.raw'), 'abc');
  utimesSync(at('a.raw'), 1_700_000_000.123456, 1_700_000_000.123456); // sub-millisecond mtime
  writeFileSync(at('b.raw'), 'x'.repeat(1000));
  utimesSync(at('b.raw'), 1_600_000_000.000999, 1_600_000_000.987654);
  mkdirSync(at('c.d'));
  symlinkSync('a.raw', at('link.raw'));
  symlinkSync('nowhere', at('dangling.raw'));
  writeFileSync(at('new\nline.raw'), 'nl');
  writeFileSync(at('back\\slash.raw'), 'bs');
  writeFileSync(at(Buffer.from([0x62, 0xff, 0x2e, 0x72, 0x61, 0x77])), 'not utf-8'); // b\xff.raw
  writeFileSync(at('ünï.raw'), 'utf-8');
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  writeFileSync(at('deleted.raw'), 'soon gone');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The names as a listing hands them over (text form), then one deleted after the listing. */
function listed(): string[] {
  const names = readdirSync(dir, { encoding: 'buffer' }).map((b) => nameToText(b));
  rmSync(path.join(dir, 'deleted.raw'), { force: true });
  return [...names, 'never-there.raw', 'x'.repeat(300)];
}

describe('lstatMany', () => {
  it('gives the expected answer on the pure-Node path (the reference)', () => {
    const names = listed();
    const r = lstatMany(dir, names, undefined);
    const kind = (n: string) => r.out[3 * names.indexOf(n) + 2];
    expect(names).toContain('new\\x0aline.raw');
    expect(names).toContain('b\\xff.raw');
    expect([kind('a.raw'), kind('c.d'), kind('link.raw'), kind('dangling.raw'), kind('fifo')]).toEqual([
      STAT_FILE,
      STAT_FOLDER,
      STAT_OTHER,
      STAT_OTHER,
      STAT_OTHER,
    ]);
    expect([kind('b\\xff.raw'), kind('new\\x0aline.raw'), kind('back\\slash.raw')]).toEqual([
      STAT_FILE,
      STAT_FILE,
      STAT_FILE,
    ]);
    expect([kind('deleted.raw'), kind('never-there.raw'), kind('x'.repeat(300))]).toEqual([
      STAT_GONE,
      STAT_GONE,
      STAT_ERROR,
    ]);
    expect(r.errors.map(([i, f]) => [names[i], f.code])).toEqual([['x'.repeat(300), 'ENAMETOOLONG']]);
  });

  it.skipIf(!process.env.CI && !existsSync(nativePaths().addon))(
    'gives exactly the pure-Node answer with the native helper',
    () => {
      expect(native, `native stat helper: ${why}`).toBeDefined();
      const names = listed();
      const node = lstatMany(dir, names, undefined);
      const fast = lstatMany(dir, names, native);
      expect(Array.from(fast.out)).toEqual(Array.from(node.out));
      expect(fast.errors).toEqual(node.errors);
      // mtimes equal Node's to the last bit, sub-millisecond parts included
      const i = names.indexOf('b.raw');
      expect(fast.out[3 * i + 1]).toBe(lstatSync(path.join(dir, 'b.raw')).mtimeMs);
      expect(fast.out[3 * i + 1]).not.toBe(Math.round(fast.out[3 * i + 1] ?? 0));
      expect(fast.out[3 * i]).toBe(1000);
    },
  );

  it.skipIf(!process.env.CI && !existsSync(nativePaths().addon))(
    'answers like the pure-Node path for a folder that is gone or not a folder',
    () => {
      for (const d of [path.join(dir, 'gone.d'), path.join(dir, 'a.raw')]) {
        const names = ['a', 'b'];
        expect(lstatMany(d, names, native)).toEqual(lstatMany(d, names, undefined));
      }
    },
  );
});

/** A filesystem thread started with SLUICE_NATIVE set to `value` (threads copy the environment). */
function threadWith(value: string | undefined): FsThread {
  const was = process.env.SLUICE_NATIVE;
  if (value === undefined) delete process.env.SLUICE_NATIVE;
  else process.env.SLUICE_NATIVE = value;
  try {
    return new FsThread();
  } finally {
    if (was === undefined) delete process.env.SLUICE_NATIVE;
    else process.env.SLUICE_NATIVE = was;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: fs-thread-body.mjs's test, controls included
const SUSPECT = /[\x00-\x1f\x7f\\\uFFFD]/;

async function listAll(w: FsThread, d: string, chunk: number) {
  const names: string[] = [];
  const r = await w.list(d, chunk, (part) => names.push(...part));
  return { r, names: names.sort() };
}

describe('listing', () => {
  it.skipIf(!process.env.CI && !existsSync(nativePaths().addon))(
    'listParts hands over the names that are not suspect, in parts of up to `chunk`, and says when it left some out',
    () => {
      expect(native, `native stat helper: ${why}`).toBeDefined();
      const parts: string[] = [];
      const r = listParts(native as NativeStat, dir, 4, SUSPECT, (p) => parts.push(p));
      expect(r).toEqual({ suspect: true });
      expect(parts.every((p) => p.split('\n').length <= 4)).toBe(true);
      const expected = readdirSync(dir).filter((n) => !SUSPECT.test(n));
      expect(parts.flatMap((p) => p.split('\n')).sort()).toEqual(expected.sort());
      expect(listParts(native as NativeStat, path.join(dir, 'gone.d'), 4, /x/, () => {})).toBeUndefined();
    },
  );

  it('lists and stats the same on both paths, through the scan threads', async () => {
    const node = threadWith('0');
    const fast = threadWith(undefined);
    try {
      const a = await listAll(node, dir, 3);
      const b = await listAll(fast, dir, 3);
      expect(a.r).toMatchObject({ done: true });
      expect(b).toEqual(a);
      expect(a.names).toContain('new\\x0aline.raw');
      expect(a.names).toContain('b\\xff.raw');
      expect(a.names).toContain('back\\slash.raw');
      expect(a.names).toContain('ünï.raw');
      expect(await fast.lstat(dir, a.names)).toEqual(await node.lstat(dir, a.names));
      const gone = path.join(dir, 'gone.d');
      const ga = await listAll(node, gone, 3);
      expect(ga.r).toMatchObject({ error: { code: 'ENOENT' } });
      expect(await listAll(fast, gone, 3)).toEqual(ga);
    } finally {
      await node.close();
      await fast.close();
    }
  });
});

describe('loadNativeStat', () => {
  it('is turned off by SLUICE_NATIVE=0, saying so', () => {
    expect(loadNativeStat({ SLUICE_NATIVE: '0' })).toEqual({ why: 'turned off by SLUICE_NATIVE=0' });
  });
});
