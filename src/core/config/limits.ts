/**
 * Caps that keep a hostile or broken config file from hanging or exhausting the checker.
 *
 * A config file is small (the starter is ~5 KB; a site with 200 instruments ~150 KB), so anything far
 * beyond that is refused before parsing. Measured before these caps: eight chained anchors
 * (`b: &b [*a x9]`, ... `h`) made `sluice config check` run past 300 s at 3.3 GB, and the `yaml`
 * library's own guard (`toJS({ maxAliasCount })`) is no help here: it only runs in `toJS`, which the
 * loader does not use, and it looks up every alias with a scan of the whole document (a 670 KB file
 * of 100,000 aliases did not finish `toJS` in 120 s). So the tree builder (source.ts) resolves
 * aliases in one pass and counts the values that alias expansion produces.
 *
 * Also here: bytes that are not UTF-8 are refused with their line, column and byte offset (Node's
 * `utf8` decoding would silently turn them into U+FFFD), and text values holding NUL or half of a
 * surrogate pair (both only reachable through escapes or secret files) are refused.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '../errors.ts';

/** Largest config file (base or overlay) accepted, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Largest `${file:...}` secret accepted, in bytes. */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Longest text value after `${...}` interpolation, in characters (V8 strings end near 512 MiB). */
export const MAX_INTERPOLATED_CHARS = 1024 * 1024;
/** Most values that alias expansion (`*name`, `<<: *name`) may add to one file. */
export const MAX_ALIAS_VALUES = 10_000;

/**
 * Reads at most `max + 1` bytes of `file` (so `/dev/zero` or a growing file cannot exhaust memory);
 * the result is longer than `max` exactly when the file is too big. Errors are the fs errors.
 */
export function readAtMost(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    const cap = st.isFile() ? Math.min(st.size, max) + 1 : max + 1;
    const buf = Buffer.alloc(cap);
    let n = 0;
    while (n < cap) {
      const got = readSync(fd, buf, n, cap - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Byte offset of the first byte that is not part of well-formed UTF-8, or -1 when all of it is. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    // lead byte → sequence length and the allowed range of the second byte (no overlongs, no surrogates)
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const c = buf[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) return i;
    }
    i += len;
  }
  return -1;
}

/** 1-based line and column (in characters) of a byte offset in valid-up-to-there UTF-8. */
export function linePosOfByte(buf: Uint8Array, offset: number): { line: number; col: number } {
  const before = Buffer.from(buf.subarray(0, offset)).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, col: (lines.at(-1) ?? '').length + 1 };
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

export function configTooBig(file: string, from = ''): ConfigError {
  return new ConfigError(
    `config file ${file}${from} is larger than ${formatBytes(MAX_CONFIG_BYTES)}; a Sluice config is a few KB`,
    `check that ${file} is the Sluice YAML config (not a data or log file)`,
  );
}

/**
 * The text of a config file read with `readAtMost(file, MAX_CONFIG_BYTES)`, or a ConfigError when it
 * is too big or not UTF-8. `from` names where the path came from, e.g. " (from SLUICE_CONFIG)".
 */
export function configText(buf: Buffer, file: string, from = ''): string {
  if (buf.length > MAX_CONFIG_BYTES) throw configTooBig(file, from);
  const bad = firstInvalidUtf8(buf);
  if (bad >= 0) {
    const { line, col } = linePosOfByte(buf, bad);
    const hex = (buf[bad] as number).toString(16).padStart(2, '0');
    throw new ConfigError(
      `${file}:${line}:${col}: invalid UTF-8 (byte 0x${hex} at offset ${bad})${from}; expected a UTF-8 text file`,
      `convert ${file} to UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`) or retype the characters at line ${line}`,
    );
  }
  return buf.toString('utf8');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a text value, as the "expected ..., found ..." phrase; undefined when fine. */
export function textValueProblem(s: string): string | undefined {
  const nul = s.indexOf('\u0000');
  if (nul >= 0) return `expected text without NUL characters, found one at character ${nul + 1}`;
  if (LONE_SURROGATE.test(s))
    return 'expected valid Unicode text, found half of a surrogate pair (a \\uD800-\\uDFFF escape)';
  return undefined;
}

/** Ports of the hosts in `postgres://user:pw@h1:5432,h2/db`: undefined for none, NaN for non-digits. */
function authorityPorts(url: string): (string | undefined)[] {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme === null) return [];
  const rest = url.slice(scheme[0].length);
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts === '') return [];
  return hosts.split(',').map((h) => {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(h);
    return m?.[2];
  });
}

export function isPort(p: string): boolean {
  return /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
}

/** True unless a host in the URL has a port that is not 1-65535 (an absent port is fine). */
export function urlPortsValid(url: string): boolean {
  return authorityPorts(url).every((p) => p === undefined || p === '' || isPort(p));
}

/** True unless `url` is an http(s) URL that Node cannot parse or whose port is not 1-65535. */
export function httpUrlPortValid(url: string): boolean {
  if (!/^https?:\/\/\S+$/i.test(url)) return true; // not an http(s) URL at all: the schema says so
  return URL.canParse(url) && urlPortsValid(url);
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`, with any port 1-65535. */
export function isHostPort(spec: string): boolean {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(.*))?$/.exec(spec.trim());
  if (m === null) return /^[0-9a-f:]+$/i.test(spec.trim()); // a bare IPv6 address
  return m[2] === undefined || isPort(m[2]);
}
