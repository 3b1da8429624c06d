// @ts-check
/**
 * The body of the source reader thread (source-reader.ts): opens, reads and closes source files with
 * synchronous calls, so a hung share blocks this thread only. Plain JavaScript, type-checked from its
 * JSDoc (`@ts-check`), so the thread needs no TypeScript loader.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { parentPort as port } from 'node:worker_threads';

if (!port) throw new Error('source-reader-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {{ id: number; type: 'open'; path: string | Buffer }} OpenRequest
 * @typedef {{ id: number; type: 'read'; fd: number; memory?: ArrayBufferLike; offset: number; len: number; pos: number }} ReadRequest
 * @typedef {{ id: number; type: 'close'; fd: number }} CloseRequest
 */

parentPort.on('message', (/** @type {OpenRequest | ReadRequest | CloseRequest} */ m) => {
  try {
    if (m.type === 'open') {
      const fd = fs.openSync(m.path, 'r');
      let st;
      try {
        st = fs.fstatSync(fd, { bigint: true });
      } catch (e) {
        try {
          fs.closeSync(fd);
        } catch {}
        throw e;
      }
      parentPort.postMessage({
        id: m.id,
        fd,
        size: Number(st.size),
        mode: Number(st.mode),
        atimeNs: st.atimeNs,
        mtimeNs: st.mtimeNs,
      });
    } else if (m.type === 'read') {
      if (m.memory) {
        const n = fs.readSync(m.fd, Buffer.from(m.memory, m.offset, m.len), 0, m.len, m.pos);
        parentPort.postMessage({ id: m.id, n });
      } else {
        const buf = Buffer.allocUnsafeSlow(m.len);
        const n = fs.readSync(m.fd, buf, 0, m.len, m.pos);
        const data = new Uint8Array(buf.buffer, 0, n);
        parentPort.postMessage({ id: m.id, n, data }, [buf.buffer]);
      }
    } else if (m.type === 'close') {
      fs.closeSync(m.fd);
      parentPort.postMessage({ id: m.id });
    }
  } catch (e) {
    const x = /** @type {{ code?: string; message?: string } | undefined} */ (e);
    parentPort.postMessage({
      id: m.id,
      error: { code: x?.code, message: String(x?.message || e) },
    });
  }
});
