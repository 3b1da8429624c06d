// @ts-check
/**
 * The scan's lstat of a list of names (`lstatMany`), on the optional native stat helper when it is
 * loaded, else on the pure-Node path (fs.lstatSync per name). Both give the same answer: (size,
 * mtimeMs, kind) triples, ENOENT as "gone", any other error as a fault naming the path.
 *
 * The helper (native/stat-many.c, built by scripts/build-native.mjs into native/build/) opens the
 * folder once and fstatat()s each name relative to it, writing into one Float64Array: about a
 * third of the CPU of lstatSync per entry, which builds a path, a Stats object and four Dates. It
 * also lists a folder (`listParts`) in parts of names as one Buffer each, instead of a Dirent per
 * entry. It
 * is optional: when it is not built, turned off (`SLUICE_NATIVE=0`), or fails its self-check,
 * scans use the pure-Node path and `nativeStatStatus()` says why (a log line at the first scan,
 * and a row of `sluice doctor`).
 *
 * Plain JavaScript (type-checked from JSDoc), imported by the filesystem thread body
 * (fs-thread-body.mjs) and by typed code alike, like core/names-core.mjs.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { fsPath, textToName } from '../core/names-core.mjs';

/**
 * @typedef {{ code: string; message: string; path?: string | undefined }} FsFault
 * @typedef {{
 *   statMany(dir: Buffer, names: Buffer, sep: number, out: Float64Array): number;
 *   openDir(dir: Buffer): object | number;
 *   readNames(handle: object, max: number): Buffer | null;
 *   closeDir(handle: object): void;
 * }} NativeStat
 * @typedef {{ helper: NativeStat; path: string } | { helper?: undefined; why: string }} NativeLoad
 */

/**
 * The built helper's folder: native/build/ in the folder holding package.json above this module,
 * as src/core/project.ts finds the project (the same from src/intake/ and from a compiled
 * dist/<fingerprint>/intake/; that module is TypeScript, which this thread body cannot load).
 */
function buildDir() {
  for (let d = path.dirname(fileURLToPath(import.meta.url)); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return path.join(d, 'native', 'build');
    if (path.dirname(d) === d) return undefined;
  }
}

const NL = 0x0a;

/** Loads and self-checks the helper, or says why not. @returns {NativeLoad} */
export function loadNativeStat(env = process.env) {
  if (env.SLUICE_NATIVE === '0') return { why: 'turned off by SLUICE_NATIVE=0' };
  const dir = buildDir();
  const file = dir && path.join(dir, 'stat-many.node');
  if (dir === undefined || file === undefined || !fs.existsSync(file)) {
    let why = 'not built (run `npm run build:native`)';
    try {
      if (dir) why = `not built: ${fs.readFileSync(path.join(dir, 'stat-many.failed'), 'utf8').trim()}`;
    } catch {}
    return { why };
  }
  /** @type {NativeStat} */
  let helper;
  try {
    helper = createRequire(import.meta.url)(file);
  } catch (e) {
    return { why: `cannot be loaded (${String(/** @type {Error} */ (e).message).split('\n')[0]})` };
  }
  // self-check against lstatSync on this very file and a name that is not there
  const self = fileURLToPath(import.meta.url);
  const slash = self.lastIndexOf('/');
  const out = new Float64Array(6);
  const st = fs.lstatSync(self);
  const n = helper.statMany(
    textToName(self.slice(0, slash)),
    Buffer.from(`${self.slice(slash + 1)}\n\u0001`),
    NL,
    out,
  );
  if (n !== 2 || out[0] !== st.size || out[1] !== st.mtimeMs || out[2] !== 1 || out[5] !== 0)
    return { why: 'failed its self-check against lstat (not used)' };
  return { helper, path: file };
}

/** @type {NativeLoad | undefined} */
let loaded;

/** The helper for this thread (loaded once). @returns {NativeLoad} */
export function nativeStat() {
  loaded ??= loadNativeStat();
  return loaded;
}

/** One line on the helper, for the log and `sluice doctor`. */
export function nativeStatStatus() {
  const n = nativeStat();
  return n.helper
    ? { loaded: true, detail: `loaded (${n.path})` }
    : { loaded: false, detail: `${n.why}: scans use the slower pure-Node path` };
}

/**
 * @param {unknown} e
 * @param {string} [path]
 * @returns {FsFault}
 */
export function fsFault(e, path) {
  const x = /** @type {{ code?: string; message?: string } | undefined} */ (e);
  return { code: x?.code || 'EUNKNOWN', message: String(x?.message || e), path };
}

const OPTS = { throwIfNoEntry: false };

/**
 * lstat of prefix + names[i] into out[3i..3i+2] by Node; faults into `errors`.
 * @param {string} prefix
 * @param {string[]} names
 * @param {number[]} which the indexes to stat
 * @param {Float64Array} out
 * @param {[number, FsFault][]} errors
 */
function lstatByNode(prefix, names, which, out, errors) {
  for (const i of which) {
    try {
      const st = fs.lstatSync(fsPath(prefix + names[i]), OPTS);
      if (st === undefined) {
        out[3 * i] = 0;
        out[3 * i + 1] = 0;
        out[3 * i + 2] = 0;
        continue;
      }
      out[3 * i] = st.size;
      out[3 * i + 1] = st.mtimeMs;
      out[3 * i + 2] = st.isFile() ? 1 : st.isDirectory() ? 2 : 3;
    } catch (e) {
      out[3 * i + 2] = 4;
      errors.push([i, fsFault(e, prefix + names[i])]);
    }
  }
}

/**
 * The names as the helper takes them: their bytes, separated by newlines when none holds an escape
 * (text form never holds a newline: core/names.ts), else by NUL (a byte no name holds; the bytes of
 * an escaped name may hold a newline).
 * @param {string[]} names
 * @returns {[Buffer, number]}
 */
function nameBytes(names) {
  const joined = names.join('\n');
  if (joined.indexOf('\\') < 0) return [Buffer.from(joined, 'utf8'), NL];
  const nul = Buffer.of(0);
  return [Buffer.concat(names.flatMap((n, i) => (i === 0 ? [textToName(n)] : [nul, textToName(n)]))), 0];
}

/**
 * lstat of each dir/name (text form): (size, mtimeMs, kind) triples, kind as fs-thread.ts's STAT_*
 * constants, and the faults. With `helper` (default: this thread's, when loaded) it does the work;
 * a name it could not stat for another reason than ENOENT is asked of Node again, so that a fault
 * carries Node's error (code, message) exactly as on the pure-Node path. A folder the helper
 * cannot open at all: the whole batch goes the pure-Node way (which reports that error as before).
 * @param {string} dir
 * @param {string[]} names
 * @param {NativeStat | undefined} [helper]
 */
export function lstatMany(dir, names, helper = nativeStat().helper) {
  const out = new Float64Array(names.length * 3);
  /** @type {[number, FsFault][]} */
  const errors = [];
  const prefix = dir + '/';
  if (helper && names.length > 0) {
    const [bytes, sep] = nameBytes(names);
    const n = helper.statMany(textToName(dir), bytes, sep, out);
    if (n === names.length) {
      /** @type {number[]} */
      const again = [];
      for (let i = 0; i < names.length; i++) if (out[3 * i + 2] === 4) again.push(i);
      if (again.length > 0) lstatByNode(prefix, names, again, out, errors);
      return { out, errors };
    }
  }
  lstatByNode(
    prefix,
    names,
    names.map((_, i) => i),
    out,
    errors,
  );
  return { out, errors };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const PART_SUSPECT = /[\x01-\x1f\x7f\\\uFFFD]/;

/**
 * The names of `dir` (text form) by the helper, in parts of up to `chunk` names joined by newlines,
 * handed to `onPart` as they are read: exactly the names fs-thread-body.mjs's listing hands over
 * (those whose UTF-8 decoding `suspect` passes), the others left for its second listing by bytes.
 * Undefined when the helper cannot open the folder (the caller then lists it the Node way, which
 * reports the error as before); throws a fault-shaped error when a read fails part way.
 * @param {NativeStat} helper
 * @param {string} dir
 * @param {number} chunk
 * @param {RegExp} suspect the test for one name
 * @param {(part: string) => void} onPart
 * @returns {{ suspect: boolean } | undefined}
 */
export function listParts(helper, dir, chunk, suspect, onPart) {
  const h = helper.openDir(textToName(dir));
  if (typeof h === 'number') return undefined;
  let any = false;
  try {
    for (let b = helper.readNames(h, chunk); b !== null; b = helper.readNames(h, chunk)) {
      // names each followed by a NUL (no name holds one): decoded at once, split only when needed
      const s = b.toString('utf8', 0, b.length - 1);
      if (!PART_SUSPECT.test(s)) {
        onPart(s.replaceAll('\0', '\n'));
        continue;
      }
      const all = s.split('\0');
      const names = all.filter((n) => !suspect.test(n));
      if (names.length < all.length) any = true;
      if (names.length > 0) onPart(names.join('\n'));
    }
  } catch (e) {
    const errno = /** @type {{ errno?: number }} */ (e).errno;
    if (typeof errno !== 'number') throw e;
    const code = getSystemErrorName(-errno);
    throw Object.assign(new Error(`${code}: the folder could not be read to the end, readdir '${dir}'`), {
      code,
    });
  } finally {
    helper.closeDir(h);
  }
  return { suspect: any };
}
