/** The text form of names (names.ts): round trips, escapes, fitName, and the same code in a thread. */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { fitName, fsPath, nameBytes, nameToText, pathToText, textToName } from './names.ts';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** A small seeded generator (mulberry32): the property tests are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random names: bytes biased towards the interesting ones (`\`, `x`, hex digits, UTF-8 lead and tail bytes). */
function randomName(next: () => number): Buffer {
  const special = [
    0x5c, 0x78, 0x66, 0x63, 0x30, 0x41, 0x2e, 0xc3, 0xbc, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xed, 0xa0,
  ];
  const len = Math.floor(next() * 24);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    const r = next();
    out[i] =
      r < 0.4
        ? special[Math.floor(next() * special.length)]!
        : r < 0.7
          ? 0x20 + Math.floor(next() * 95)
          : Math.floor(next() * 256);
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

describe('names: text form of byte names', () => {
  it('keeps valid UTF-8 names as they are and escapes invalid bytes as \\xHH', () => {
    expect(nameToText(Buffer.from('run_001.raw'))).toBe('run_001.raw');
    expect(nameToText(Buffer.from('Müller €.raw'))).toBe('Müller €.raw');
    expect(nameToText(latin1('Probe_M\xfcller.tdf'))).toBe('Probe_M\\xfcller.tdf');
    expect(nameToText(latin1('sub/r\xe9sultat.bin'))).toBe('sub/r\\xe9sultat.bin');
    expect(nameToText(Buffer.from('a\nb\x7f'))).toBe('a\\x0ab\\x7f');
    expect(nameToText(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // a UTF-16 surrogate
    expect(nameToText(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf'); // overlong '/'
    expect(nameToText(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe('\\xf4\\x90\\x80\\x80'); // > U+10FFFF
    expect(nameToText(Buffer.from('😀'))).toBe('😀');
  });

  it('escapes only the backslashes that would read as an escape', () => {
    expect(nameToText(Buffer.from('C:\\data\\run.raw'))).toBe('C:\\data\\run.raw');
    expect(nameToText(Buffer.from('a\\xfc.raw'))).toBe('a\\x5cxfc.raw');
    expect(textToName('a\\x5cxfc.raw').toString()).toBe('a\\xfc.raw');
    expect(nameToText(Buffer.from([0x5c, 0xfc]))).toBe('\\\\xfc');
    expect(textToName('\\\\xfc')).toEqual(Buffer.from([0x5c, 0xfc]));
  });

  it('never reads an escape as a byte the escaping does not produce (no hidden / or .)', () => {
    expect(textToName('a\\x2fb')).toEqual(Buffer.from('a\\x2fb'));
    expect(textToName('a\\x41')).toEqual(Buffer.from('a\\x41'));
    expect(textToName('\\xFC')).toEqual(Buffer.from([0xfc])); // upper-case digits are read too
  });

  it('round-trips random byte names, and their text is valid for PostgreSQL', () => {
    const next = rng(16);
    for (let n = 0; n < 50_000; n++) {
      const b = randomName(next);
      const t = nameToText(b);
      expect(textToName(t)).toEqual(b);
      expect(Buffer.from(t).toString()).toBe(t); // no lone surrogates
      expect(t.includes('\0')).toBe(false);
      // the unique text form: decoding and encoding again gives the same text
      expect(nameToText(textToName(t))).toBe(t);
      // valid UTF-8 without controls or escape look-alikes is unchanged
      let valid = true;
      try {
        strictUtf8.decode(b);
      } catch {
        valid = false;
      }
      const plain = !b.some((c) => c < 0x20 || c === 0x7f) && !/\\x[0-9a-fA-F]{2}/.test(b.toString());
      if (valid && plain) expect(t).toBe(b.toString());
      if (!valid) expect(t).toMatch(/\\x[89a-f][0-9a-f]/);
    }
  });

  it('round-trips random strings with backslashes (names that are valid UTF-8)', () => {
    const next = rng(7);
    const alphabet = ['\\', 'x', 'f', 'c', '5', 'C', 'ü', '€', '/', '.', 'a', '\n'];
    for (let n = 0; n < 20_000; n++) {
      let s = '';
      for (let i = Math.floor(next() * 16); i > 0; i--) s += alphabet[Math.floor(next() * alphabet.length)];
      expect(textToName(nameToText(Buffer.from(s))).toString()).toBe(s);
    }
  });

  it('gives a path the same number of / as its bytes', () => {
    const b = latin1('/data/in\xfcst/x\\x2f\xff/y');
    const t = nameToText(b);
    expect(t.split('/').length).toBe(b.toString('latin1').split('/').length);
  });

  it('fsPath passes plain text as a string and escaped text as bytes', () => {
    expect(fsPath('/data/run.raw')).toBe('/data/run.raw');
    expect(fsPath('/data/M\\xfcller.raw')).toEqual(latin1('/data/M\xfcller.raw'));
    expect(pathToText('/mnt/instrument 1')).toBe('/mnt/instrument 1');
    expect(nameBytes('M\\xfcller')).toBe(6);
  });

  it('runs the same code in a worker thread', async () => {
    const next = rng(3);
    const names = Array.from({ length: 2000 }, () => randomName(next));
    const core = new URL('./names-core.mjs', import.meta.url).href;
    const w = new Worker(
      "const { parentPort, workerData } = require('node:worker_threads');\n" +
        'import(workerData.core).then(({ nameToText }) => parentPort.postMessage(workerData.names.map((b) => nameToText(b))));',
      { eval: true, execArgv: [], workerData: { core, names } },
    );
    const texts = await new Promise<string[]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(texts).toEqual(names.map((b) => nameToText(b)));
  });
});

describe('fitName', () => {
  it('keeps a name that fits', () => {
    expect(fitName('x.raw')).toBe('x.raw');
    const max = `${'a'.repeat(251)}.raw`;
    expect(fitName(max)).toBe(max);
  });

  it('shortens a long name to the limit, keeping its extension, different names differently', () => {
    const a = `20261206-155327-${'a'.repeat(251)}.raw`;
    const b = `20261206-155327-${'a'.repeat(250)}b.raw`;
    const fa = fitName(a);
    expect(nameBytes(fa)).toBe(255);
    expect(fa.startsWith('20261206-155327-aaa')).toBe(true);
    expect(fa.endsWith('.raw')).toBe(true);
    expect(fitName(b)).not.toBe(fa);
    expect(fitName(a)).toBe(fa); // stable
  });

  it('cuts between characters and escapes, never inside one', () => {
    const next = rng(5);
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.concat([randomName(next), Buffer.from('é'.repeat(130)), latin1('\xfc\xfc.raw')]);
      const t = nameToText(b);
      const f = fitName(t, 100);
      expect(nameBytes(f)).toBeLessThanOrEqual(100);
      expect(nameToText(textToName(f))).toBe(f);
      expect(f.endsWith('.raw')).toBe(true);
      expect(f).not.toContain('\uFFFD');
    }
  });
});
