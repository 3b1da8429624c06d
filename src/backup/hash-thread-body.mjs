// @ts-check
/**
 * The body of the hash thread (hash-thread.ts): hashes the parts of each file as they are posted
 * (`update`, from shared memory) and answers the digest. Plain JavaScript, type-checked from its
 * JSDoc (`@ts-check`), so the thread needs no TypeScript loader.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { parentPort as port } from 'node:worker_threads';

if (!port) throw new Error('hash-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {{ id: number; type: 'update'; file: number; algorithm: string; memory: ArrayBuffer; offset: number; len: number }} UpdateRequest
 * @typedef {{ id: number; type: 'digest'; file: number; algorithm: string }} DigestRequest
 * @typedef {{ id: number; type: 'ping' }} PingRequest
 */

/** @type {Map<number, import('node:crypto').Hash>} */
const hashes = new Map();

parentPort.on('message', (/** @type {UpdateRequest | DigestRequest | PingRequest} */ m) => {
  try {
    if (m.type === 'update') {
      let h = hashes.get(m.file);
      if (!h) {
        h = createHash(m.algorithm);
        hashes.set(m.file, h);
      }
      h.update(Buffer.from(m.memory, m.offset, m.len));
      parentPort.postMessage({ id: m.id });
    } else if (m.type === 'digest') {
      const h = hashes.get(m.file) ?? createHash(m.algorithm);
      hashes.delete(m.file);
      parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
    } else {
      parentPort.postMessage({ id: m.id });
    }
  } catch (e) {
    const x = /** @type {{ code?: string; message: string }} */ (e);
    parentPort.postMessage({ id: m.id, error: { code: x.code, message: x.message } });
  }
});
