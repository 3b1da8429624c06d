// @ts-check
/**
 * The body of the read-back thread (readback.ts): reads each file back as far as the copy allows
 * (`allow`), hashing it, and answers the hash and size on `finish`. Plain JavaScript, type-checked
 * from its JSDoc (`@ts-check`), so the thread needs no TypeScript loader.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { parentPort as port, workerData } from 'node:worker_threads';
import { createHasher } from './fast-hasher.mjs';

if (!port) throw new Error('readback-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {{ id: number; type: 'open'; path: string | Buffer; algorithm: string }} OpenRequest
 * @typedef {{ id: number; type: 'allow'; upTo: number }} AllowRequest
 * @typedef {{ id: number; type: 'finish' }} FinishRequest
 * @typedef {{ id: number; type: 'close' }} CloseRequest
 * @typedef {{ fd: number; hash: import('./fast-hasher.mjs').Hasher; pos: number }} OpenFile
 */

const buf = Buffer.allocUnsafe(/** @type {{ bufBytes: number }} */ (workerData).bufBytes);
/** @type {Map<number, OpenFile>} */
const files = new Map();

/**
 * Read and hash `f` up to `limit` (or its end).
 * @param {OpenFile} f
 * @param {number} limit
 */
function advance(f, limit) {
  while (f.pos < limit) {
    const n = fs.readSync(f.fd, buf, 0, Math.min(buf.length, limit - f.pos), f.pos);
    if (n === 0) break;
    f.hash.update(buf.subarray(0, n));
    f.pos += n;
  }
}

/** @param {number} id */
function drop(id) {
  const f = files.get(id);
  files.delete(id);
  if (f) {
    try {
      fs.closeSync(f.fd);
    } catch {}
  }
}

parentPort.on('message', (/** @type {OpenRequest | AllowRequest | FinishRequest | CloseRequest} */ m) => {
  try {
    if (m.type === 'open') {
      const hash = createHasher(m.algorithm);
      files.set(m.id, { fd: fs.openSync(m.path, 'r'), hash, pos: 0 });
    } else if (m.type === 'allow') {
      const f = files.get(m.id);
      if (f) advance(f, m.upTo);
    } else if (m.type === 'finish') {
      const f = files.get(m.id);
      if (!f) return;
      advance(f, Infinity);
      drop(m.id);
      parentPort.postMessage({ id: m.id, hash: f.hash.digest('hex'), size: f.pos });
    } else if (m.type === 'close') {
      for (const id of [...files.keys()]) drop(id);
      parentPort.postMessage({ id: -1 });
    }
  } catch (e) {
    drop(m.id);
    const x = /** @type {{ code?: string; message: string }} */ (e);
    parentPort.postMessage({ id: m.id, error: { code: x.code, message: x.message } });
  }
});
