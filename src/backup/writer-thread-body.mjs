// @ts-check
/**
 * The body of the copy writer thread (writer.ts): writes each chunk from shared memory at its
 * position, in pieces, and keeps the fast checksum of what it wrote when asked. Plain JavaScript,
 * type-checked from its JSDoc (`@ts-check`), so the thread needs no TypeScript loader.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { parentPort as port } from 'node:worker_threads';
import { fastHasher } from './fast-hasher.mjs';

if (!port) throw new Error('writer-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {{ id: number; type: 'write'; file: number; fd: number; memory: ArrayBufferLike; offset: number; len: number; pos: number; hash: boolean; piece: number }} WriteRequest
 * @typedef {{ id: number; type: 'digest'; file: number }} DigestRequest
 */

/** @type {Map<number, import('./fast-hasher.mjs').FastHasher>} */
const hashes = new Map();

parentPort.on('message', (/** @type {WriteRequest | DigestRequest} */ m) => {
  try {
    if (m.type === 'write') {
      const buf = Buffer.from(m.memory, m.offset, m.len);
      let off = 0;
      while (off < m.len) {
        const n = fs.writeSync(m.fd, buf, off, Math.min(m.piece, m.len - off), m.pos + off);
        if (n === 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
        off += n;
      }
      if (m.hash) {
        let h = hashes.get(m.file);
        if (!h) {
          h = fastHasher();
          hashes.set(m.file, h);
        }
        h.update(buf);
      }
      parentPort.postMessage({ id: m.id });
    } else if (m.type === 'digest') {
      const h = hashes.get(m.file) ?? fastHasher();
      hashes.delete(m.file);
      parentPort.postMessage({ id: m.id, digest: h.digest() });
    }
  } catch (e) {
    const x = /** @type {{ code?: string; message: string }} */ (e);
    parentPort.postMessage({ id: m.id, error: { code: x.code, message: x.message } });
  }
});
