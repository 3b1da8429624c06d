/**
 * Names are bytes. A Linux file name is any sequence of bytes except `/` and NUL; instruments (and
 * Windows shares mounted with a Latin-1 code page) write names such as `Probe_M\xfcller.tdf` that are
 * not valid UTF-8. Node's `fs` turns such a name into a string with U+FFFD in it, and that string no
 * longer names the file: every later `lstat`/`open` of it fails with ENOENT, which listing code took
 * for "vanished" and skipped.
 *
 * Sluice therefore keeps every name and path it records as its **text form**, a reversible escaping
 * of the bytes that PostgreSQL `text` and JSON can hold and people can read:
 * - valid UTF-8 stays as it is (`Müller.raw` is `Müller.raw`);
 * - every byte that is not part of valid UTF-8 (strict: no overlong forms, no surrogates, nothing
 *   above U+10FFFF), every control byte (0x00–0x1f, 0x7f) is written `\xHH` (two lower-case hex
 *   digits): Latin-1 `M\xfcller` is the text `M\xfcller`;
 * - a backslash that would read as such an escape (followed by `x` and two hex digits) is written
 *   `\x5c`; any other backslash stays as it is (`C:\data` stays `C:\data`).
 * `textToName` reads `\xHH` as one byte only for the bytes the escaping produces (controls, `\`,
 * 0x80–0xff), so `\x2f` can never become a `/` and a text splits at `/` exactly where its bytes do:
 * `path.join`, `dirname` and `basename` work on text paths unchanged. Every byte string has exactly
 * one text form (`nameToText`), and `textToName(nameToText(b))` is `b` for every `b`
 * (names.test.ts checks this on random byte strings). A name that is valid UTF-8 without controls and
 * without `\xHH` look-alikes has the same text as before this escaping existed, so existing records
 * keep their meaning.
 *
 * Paths in records, manifests, messages and logs are text; a file-system call takes `fsPath(text)`
 * (src/core/text-fs.ts wraps the calls the data path makes). Config paths are plain strings; they
 * become text with `pathToText` (the same string unless it holds a control or a `\xHH` look-alike).
 *
 * Names derived from a name (a temp folder `.<name>.sluice-partial`, a collision id
 * `<date>-<name>`, `<name>.replaced-<time>`) must still fit the 255-byte limit of Linux filesystems:
 * `fitName` shortens such a name, keeping its extension and adding a hash of the whole, so two
 * different long names never shorten to the same one.
 *
 * The core is plain JavaScript in NAMES_JS so worker threads (the scan's, intake/fs-worker.ts) run the
 * very same code; this module evaluates it once for the main thread.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';

/**
 * `nameToText(bytes)` and `textToName(text)` as plain JavaScript (needs `Buffer` and
 * `require('node:buffer').isUtf8` in scope). Evaluated by this module and by worker threads.
 */
export const NAMES_JS = `
const namesIsUtf8 = require('node:buffer').isUtf8;
const NAMES_HEX = '0123456789abcdef';
function namesEscape(b) { return '\\\\x' + NAMES_HEX[b >> 4] + NAMES_HEX[b & 15]; }
function namesIsHex(c) { return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102); }
function namesHexVal(c) { return c <= 57 ? c - 48 : (c | 32) - 87; }
// A byte value that the escaping writes as \\xHH (and so textToName reads back).
function namesEscaped(v) { return v < 0x20 || v === 0x5c || v === 0x7f || v >= 0x80; }
// Length of the valid UTF-8 sequence at b[i] (2-4), or 0 when b[i] does not start one (b[i] >= 0x80).
function namesSeq(b, i) {
  const c = b[i], n = b.length;
  const cont = (k) => i + k < n && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return 0; // overlong, surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return 0; // overlong, > U+10FFFF
    return 4;
  }
  return 0;
}
// A backslash at b[i] that is followed by x and two hex digits (it would read as an escape).
function namesLooksEscaped(b, i) {
  return i + 3 < b.length && b[i + 1] === 0x78 && namesIsHex(b[i + 2]) && namesIsHex(b[i + 3]);
}
function nameToText(b) {
  if (!Buffer.isBuffer(b)) b = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let high = false, special = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x80) high = true;
    else if (c < 0x20 || c === 0x5c || c === 0x7f) { special = true; break; }
  }
  if (!special) {
    if (!high) return b.latin1Slice(0, b.length);
    if (namesIsUtf8(b)) return b.utf8Slice(0, b.length);
  }
  let out = '', start = 0, i = 0;
  while (i < b.length) {
    const c = b[i];
    let esc = false, len = 1;
    if (c < 0x20 || c === 0x7f) esc = true;
    else if (c === 0x5c) esc = namesLooksEscaped(b, i);
    else if (c >= 0x80) { len = namesSeq(b, i); if (len === 0) { esc = true; len = 1; } }
    if (esc) { out += b.utf8Slice(start, i) + namesEscape(c); start = i + 1; }
    i += len;
  }
  return out + b.utf8Slice(start, b.length);
}
function textToName(s) {
  if (s.indexOf('\\\\') < 0) return Buffer.from(s, 'utf8');
  const parts = [];
  let start = 0;
  for (let i = s.indexOf('\\\\'); i >= 0; i = s.indexOf('\\\\', i)) {
    if (s.charCodeAt(i + 1) === 0x78 && namesIsHex(s.charCodeAt(i + 2)) && namesIsHex(s.charCodeAt(i + 3))) {
      const v = namesHexVal(s.charCodeAt(i + 2)) * 16 + namesHexVal(s.charCodeAt(i + 3));
      if (namesEscaped(v)) {
        if (i > start) parts.push(Buffer.from(s.slice(start, i), 'utf8'));
        parts.push(Buffer.of(v));
        start = i + 4;
        i += 4;
        continue;
      }
    }
    i += 1;
  }
  if (start < s.length) parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
`;

const core = new Function('require', `${NAMES_JS}\nreturn { nameToText, textToName };`)((id: string) => {
  if (id === 'node:buffer') return { isUtf8 };
  throw new Error(`names: unexpected require(${id})`);
}) as { nameToText: (b: Uint8Array) => string; textToName: (s: string) => Buffer };

/** The text form of a name or path given as bytes (see the module comment). */
export function nameToText(bytes: Uint8Array): string {
  return core.nameToText(bytes);
}

/** The bytes of a name or path given in text form; the inverse of `nameToText`. */
export function textToName(text: string): Buffer {
  return core.textToName(text);
}

/**
 * The argument for a file-system call on the text path `text`: the string itself when it holds no
 * escape (then its UTF-8 bytes are the name), else the bytes.
 */
export function fsPath(text: string): string | Buffer {
  return text.includes('\\') ? textToName(text) : text;
}

/** The text form of a path given as a plain string (a config path): itself unless it must be escaped. */
export function pathToText(p: string): string {
  return nameToText(Buffer.from(p, 'utf8'));
}

/** Bytes of a text name once on disk. */
export function nameBytes(text: string): number {
  return text.includes('\\') ? textToName(text).length : Buffer.byteLength(text, 'utf8');
}

/** Linux filesystems (ext4, xfs, tmpfs, btrfs, NFS, SMB) allow names of up to 255 bytes. */
export const NAME_MAX = 255;

/** An extension worth keeping when a name is shortened: `.raw`, `.d`, `.wiff2`, `.tdf_bin` ... */
const EXTENSION = /\.[A-Za-z0-9_]{1,15}$/;

/**
 * `text` (a name) if it is at most `maxBytes` bytes on disk; else its first bytes (cut between
 * characters, never inside an escape), `~`, 16 hex digits of the SHA-256 of the whole name's bytes,
 * and its extension. Different names give different results (up to a 64-bit hash collision); the
 * same name always the same one. `maxBytes` must leave room for the hash and extension (≥ 40).
 */
export function fitName(text: string, maxBytes = NAME_MAX): string {
  const bytes = textToName(text);
  if (bytes.length <= maxBytes) return text;
  if (maxBytes < 40) throw new RangeError(`fitName: ${maxBytes} bytes leave no room for the hash`);
  const ext = EXTENSION.exec(text)?.[0] ?? '';
  const tag = `~${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}${ext}`;
  const room = maxBytes - tag.length;
  // Whole characters or escapes of the text, as long as their bytes fit.
  let head = '';
  let used = 0;
  for (const m of text.matchAll(/\\x[0-9a-fA-F]{2}|[\s\S]/gu)) {
    const n = nameBytes(m[0]);
    if (used + n > room) break;
    head += m[0];
    used += n;
  }
  return nameToText(textToName(head + tag)); // canonical: a cut may have split `\x5cx41`
}
