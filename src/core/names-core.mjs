// @ts-check
/**
 * The core of the text form of names (core/names.ts explains it): `nameToText` and `textToName`.
 *
 * Plain JavaScript, type-checked from its JSDoc (`@ts-check`) and linted, so that worker threads
 * (the scan's, intake/threads/fs.mjs) import the very same code as the main thread without a
 * TypeScript loader; typed code imports it through core/names.ts.
 */
import { Buffer, isUtf8 } from 'node:buffer';

const HEX = '0123456789abcdef';

/**
 * Buffer's slicers, which `toString` calls after checking its arguments (present in Node, missing
 * from its type declarations).
 * @typedef {Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string }} SlicingBuffer
 */

/** @param {number} b a byte value @returns {string} its escape `\xHH` */
function escapeByte(b) {
  return '\\x' + HEX[b >> 4] + HEX[b & 15];
}

/** @param {number} c a character code */
function isHex(c) {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** @param {number} c the code of a hex digit */
function hexVal(c) {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** A byte value that the escaping writes as \xHH (and so textToName reads back). @param {number} v */
function escaped(v) {
  return v < 0x20 || v === 0x5c || v === 0x7f || v >= 0x80;
}

/**
 * Length of the valid UTF-8 sequence at b[i] (2-4), or 0 when b[i] does not start one (b[i] >= 0x80).
 * @param {Buffer} b
 * @param {number} i
 */
function seqLength(b, i) {
  const c = /** @type {number} */ (b[i]);
  const n = b.length;
  /** @param {number} k */
  const cont = (k) => i + k < n && ((b[i + k] ?? 0) & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = /** @type {number} */ (b[i + 1]);
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return 0; // overlong, surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = /** @type {number} */ (b[i + 1]);
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return 0; // overlong, > U+10FFFF
    return 4;
  }
  return 0;
}

/**
 * A backslash at b[i] that is followed by x and two hex digits (it would read as an escape).
 * @param {Buffer} b
 * @param {number} i
 */
function looksEscaped(b, i) {
  return (
    i + 3 < b.length &&
    b[i + 1] === 0x78 &&
    isHex(/** @type {number} */ (b[i + 2])) &&
    isHex(/** @type {number} */ (b[i + 3]))
  );
}

/**
 * The text form of a name or path given as bytes.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function nameToText(bytes) {
  const b = /** @type {SlicingBuffer} */ (
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  );
  let high = false;
  let special = false;
  for (let i = 0; i < b.length; i++) {
    const c = /** @type {number} */ (b[i]);
    if (c >= 0x80) high = true;
    else if (c < 0x20 || c === 0x5c || c === 0x7f) {
      special = true;
      break;
    }
  }
  if (!special) {
    if (!high) return b.latin1Slice(0, b.length);
    if (isUtf8(b)) return b.utf8Slice(0, b.length);
  }
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const c = /** @type {number} */ (b[i]);
    let esc = false;
    let len = 1;
    if (c < 0x20 || c === 0x7f) esc = true;
    else if (c === 0x5c) esc = looksEscaped(b, i);
    else if (c >= 0x80) {
      len = seqLength(b, i);
      if (len === 0) {
        esc = true;
        len = 1;
      }
    }
    if (esc) {
      out += b.utf8Slice(start, i) + escapeByte(c);
      start = i + 1;
    }
    i += len;
  }
  return out + b.utf8Slice(start, b.length);
}

/**
 * The bytes of a name or path given in text form; the inverse of `nameToText`.
 * @param {string} s
 * @returns {Buffer}
 */
export function textToName(s) {
  if (s.indexOf('\\') < 0) return Buffer.from(s, 'utf8');
  /** @type {Buffer[]} */
  const parts = [];
  let start = 0;
  for (let i = s.indexOf('\\'); i >= 0; i = s.indexOf('\\', i)) {
    if (s.charCodeAt(i + 1) === 0x78 && isHex(s.charCodeAt(i + 2)) && isHex(s.charCodeAt(i + 3))) {
      const v = hexVal(s.charCodeAt(i + 2)) * 16 + hexVal(s.charCodeAt(i + 3));
      if (escaped(v)) {
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

/**
 * The argument for a file-system call on the text path `text`: the string itself when it holds no
 * escape (then its UTF-8 bytes are the name), else the bytes.
 * @param {string} text
 * @returns {string | Buffer}
 */
export function fsPath(text) {
  return text.indexOf('\\') < 0 ? text : textToName(text);
}
