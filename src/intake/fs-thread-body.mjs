// @ts-check
/**
 * The body of a scan's filesystem thread (started by fs-thread.ts, which explains why a thread and
 * why synchronous calls). It only does primitive operations (list a folder, lstat a list, sum a
 * folder tree, probe a mount); all decisions stay in typed code.
 *
 * Plain JavaScript, type-checked from its JSDoc (`@ts-check`) and linted, so the thread needs no
 * TypeScript loader and runs the same under tsx, vitest and compiled builds. Paths and names cross
 * the thread boundary in text form (core/names.ts); calls take their bytes, so a name that is not
 * UTF-8 is listed, stat'ed and walked by its bytes, never skipped as "gone".
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { parentPort as port } from 'node:worker_threads';
import { fsPath, nameToText, textToName } from '../core/names-core.mjs';
import { fsFault as err, listParts, lstatMany, nativeStat } from './native-stat.mjs';

if (!port) throw new Error('fs-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {import('./native-stat.mjs').FsFault} FsFault
 * @typedef {{ id: number; op: 'list'; dir: string; chunk: number }} ListRequest
 * @typedef {{ id: number; op: 'lstat'; dir: string; names: string }} LstatRequest
 * @typedef {{ id: number; op: 'tree'; path: string; mainFile: string }} TreeRequest
 * @typedef {{ id: number; op: 'probe'; dir: string; parent: string }} ProbeRequest
 * @typedef {ListRequest | LstatRequest | TreeRequest | ProbeRequest} Request
 */

const SLASH = Buffer.from('/');

/** @param {unknown} e */
function codeOf(e) {
  return /** @type {{ code?: string }} */ (e).code;
}

/**
 * Walks with byte paths (names as listed, never decoded); errors name the path in text form.
 * @param {string} rootText
 * @param {string} mainFile
 */
function tree(rootText, mainFile) {
  const root = textToName(rootText);
  let top;
  try {
    top = fs.lstatSync(root, { throwIfNoEntry: false });
  } catch (e) {
    return { error: err(e, rootText) };
  }
  if (top === undefined) return { gone: true };
  let size = 0;
  let mtimeMs = top.mtimeMs;
  let hasMain = false;
  let files = 0;
  // members: rel (relative, '/'-separated), size and mtime of every file, in parallel arrays
  /** @type {string[]} */
  const rels = [];
  /** @type {number[]} */
  const nums = [];
  const stack = [root];
  const relOf = [''];
  while (stack.length > 0) {
    const d = /** @type {Buffer} */ (stack.pop());
    const rd = /** @type {string} */ (relOf.pop());
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      if (codeOf(e) === 'ENOENT' && d !== root) continue;
      if (codeOf(e) === 'ENOENT') return { gone: true };
      return { error: err(e, nameToText(d)) };
    }
    for (const e of entries) {
      if (!e.isFile() && !e.isDirectory()) continue;
      const p = Buffer.concat([d, SLASH, e.name]);
      let st;
      try {
        st = fs.lstatSync(p, { throwIfNoEntry: false });
      } catch (x) {
        return { error: err(x, nameToText(p)) };
      }
      if (st === undefined) continue;
      if (st.mtimeMs > mtimeMs) mtimeMs = st.mtimeMs;
      const name = nameToText(e.name);
      const rel = rd === '' ? name : rd + '/' + name;
      if (st.isDirectory()) {
        stack.push(p);
        relOf.push(rel);
        continue;
      }
      size += st.size;
      files++;
      rels.push(rel);
      nums.push(st.size, st.mtimeMs);
      if (d === root && e.name.length === mainFile.length && nameToText(e.name).toLowerCase() === mainFile) {
        hasMain = true;
      }
    }
  }
  return { size, mtimeMs, hasMain, files, rels, nums: new Float64Array(nums) };
}

// The names of dir's entries (no '.' or '..'), posted in parts of m.chunk as they are read: the
// caller stats the first parts while later ones are still being read. opendir reads the directory in
// its own order; readdir would sort it (libuv), which cost a third of the listing on 100,000 names.
// Names are read as strings (UTF-8): reading them as bytes costs a Buffer per name, three times the
// CPU of the listing (measured on 100,000 names: 290 ms against 100 ms). A string whose text form
// may differ from it (SUSPECT: a U+FFFD that stands for bytes that are not UTF-8, a control
// character, a backslash) is left out, and those names are then read again by bytes in a second
// listing and handed over in text form. The two listings are disjoint by the same test on the same
// decoding; an entry created or removed between them is seen or missed as by any later listing.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const SUSPECT = /[\x00-\x1f\x7f\\\uFFFD]/;

/** @param {ListRequest} m */
function list(m) {
  let d;
  let suspect = false;
  const helper = nativeStat().helper;
  if (helper) {
    // the native helper's listing, when it can open the folder (else the Node way, for its error)
    try {
      const r = listParts(helper, m.dir, m.chunk, SUSPECT, (part) =>
        parentPort.postMessage({ id: m.id, part }),
      );
      if (r) return r.suspect ? listSuspects(m) : { done: true };
    } catch (e) {
      return { error: err(e, m.dir) };
    }
  }
  try {
    d = fs.opendirSync(fsPath(m.dir), { bufferSize: 4096 });
  } catch (e) {
    return { error: err(e, m.dir) };
  }
  try {
    /** @type {string[]} */
    let part = [];
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (SUSPECT.test(e.name)) {
        suspect = true;
        continue;
      }
      part.push(e.name);
      if (part.length >= m.chunk) {
        parentPort.postMessage({ id: m.id, part: part.join('\n') });
        part = [];
      }
    }
    if (part.length > 0) parentPort.postMessage({ id: m.id, part: part.join('\n') });
  } catch (e) {
    return { error: err(e, m.dir) };
  } finally {
    try {
      d.closeSync();
    } catch {}
  }
  return suspect ? listSuspects(m) : { done: true };
}

/**
 * The second listing: the names left out of the first as SUSPECT, read by bytes, in text form.
 * @param {ListRequest} m
 */
function listSuspects(m) {
  try {
    const part = [];
    for (const b of fs.readdirSync(fsPath(m.dir), { encoding: 'buffer' })) {
      if (SUSPECT.test(b.toString('utf8'))) part.push(nameToText(b));
    }
    if (part.length > 0) parentPort.postMessage({ id: m.id, part: part.join('\n') });
  } catch (e) {
    return { error: err(e, m.dir) };
  }
  return { done: true };
}

/**
 * Whether dir is a mount point (its device differs from its parent's, or it is '/'), and its free
 * space (unknown, not an error, when only statfs fails).
 * @param {string} dir
 * @param {string} parent
 */
function probe(dir, parent) {
  let self;
  let up;
  let fsst;
  try {
    self = fs.statSync(dir);
    up = fs.statSync(parent);
  } catch (e) {
    return { error: err(e, dir) };
  }
  try {
    fsst = fs.statfsSync(dir);
  } catch {}
  const mounted = self.dev !== up.dev || self.ino === up.ino;
  if (!fsst) return { mounted };
  return { mounted, space: { freeBytes: fsst.bavail * fsst.bsize, totalBytes: fsst.blocks * fsst.bsize } };
}

parentPort.on('message', (/** @type {Request} */ m) => {
  try {
    if (m.op === 'list') {
      parentPort.postMessage({ id: m.id, ...list(m) });
    } else if (m.op === 'lstat') {
      const r = lstatMany(m.dir, m.names === '' ? [] : m.names.split('\n'));
      parentPort.postMessage({ id: m.id, out: r.out, errors: r.errors }, [r.out.buffer]);
    } else if (m.op === 'tree') {
      const t = tree(m.path, m.mainFile);
      parentPort.postMessage({ id: m.id, ...t }, t.nums ? [t.nums.buffer] : []);
    } else if (m.op === 'probe') {
      parentPort.postMessage({ id: m.id, ...probe(m.dir, m.parent) });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: err(e) });
  }
});
