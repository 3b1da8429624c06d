// @ts-check
/**
 * The body of a small-file copy thread (small-files.ts): copies a whole small file with synchronous
 * calls, hashing it on the way (`copy`), and reads a copy back (`readBack`). Errors carry the `side`
 * (source or target) whose call failed. Plain JavaScript, type-checked from its JSDoc (`@ts-check`),
 * so the thread needs no TypeScript loader.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { parentPort as port, workerData } from 'node:worker_threads';
import { createHasher, fastHasher } from './fast-hasher.mjs';

if (!port) throw new Error('small-files-thread-body.mjs runs only as a worker thread');
const parentPort = port;

/**
 * @typedef {string | Buffer} FsPath
 * @typedef {{ id: number; type: 'copy'; src: FsPath; dst: FsPath; algorithm: string; fast: boolean; piece: number; modeSet: number; modeKeep: number }} CopyRequest
 * @typedef {{ id: number; type: 'readBack'; path: FsPath; algorithm: string }} ReadBackRequest
 * @typedef {{ id: number; type: 'ping' }} PingRequest
 */

const buf = Buffer.allocUnsafe(/** @type {{ bufBytes: number }} */ (workerData).bufBytes);

/**
 * `f()`, its error marked with the side it happened on (unless already marked).
 * @template T
 * @param {'source' | 'target'} name
 * @param {() => T} f
 * @returns {T}
 */
function side(name, f) {
  try {
    return f();
  } catch (e) {
    if (e && typeof e === 'object') /** @type {{ side?: string }} */ (e).side ??= name;
    throw e;
  }
}

/**
 * fsutil.ts utimeSeconds: the same microsecond as the source's time.
 * @param {bigint} ns
 */
function utimeSeconds(ns) {
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

/** @param {number | undefined} fd */
function closeQuietly(fd) {
  if (fd !== undefined) {
    try {
      fs.closeSync(fd);
    } catch {}
  }
}

/** @param {CopyRequest} m */
function copy(m) {
  /** @type {number | undefined} */
  let input;
  /** @type {number | undefined} */
  let output;
  try {
    const inFd = side('source', () => fs.openSync(m.src, 'r'));
    input = inFd;
    const st = side('source', () => fs.fstatSync(inFd, { bigint: true }));
    const outFd = side('target', () => fs.openSync(m.dst, 'wx', 0o600));
    output = outFd;
    const hash = createHasher(m.algorithm);
    const fast = m.fast ? fastHasher() : undefined;
    let pos = 0;
    for (;;) {
      const at = pos;
      const n = side('source', () => fs.readSync(inFd, buf, 0, buf.length, at));
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      let off = 0;
      while (off < n) {
        const o = off;
        const w = side('target', () => fs.writeSync(outFd, buf, o, Math.min(m.piece, n - o), at + o));
        if (w === 0)
          throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO', side: 'target' });
        off += w;
      }
      hash.update(chunk);
      fast?.update(chunk);
      pos += n;
    }
    side('target', () => {
      fs.fchmodSync(outFd, m.modeSet | (Number(st.mode) & m.modeKeep));
      fs.futimesSync(outFd, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
      fs.fsyncSync(outFd);
      output = undefined;
      fs.closeSync(outFd);
    });
    const after = side('source', () => fs.lstatSync(m.src));
    return {
      bytes: pos,
      hash: hash.digest('hex'),
      fast: fast?.digest(),
      after: { size: after.size, mtimeMs: after.mtimeMs },
    };
  } finally {
    closeQuietly(input);
    closeQuietly(output);
  }
}

/** @param {ReadBackRequest} m */
function readBack(m) {
  const fd = fs.openSync(m.path, 'r');
  try {
    const hash = createHasher(m.algorithm);
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    return { hash: hash.digest('hex'), size: pos };
  } finally {
    closeQuietly(fd);
  }
}

parentPort.on('message', (/** @type {CopyRequest | ReadBackRequest | PingRequest} */ m) => {
  try {
    if (m.type === 'ping') return parentPort.postMessage({ id: m.id });
    const r = m.type === 'copy' ? copy(m) : readBack(m);
    parentPort.postMessage({ id: m.id, ...r });
  } catch (e) {
    const x = /** @type {{ code?: string; message?: string; side?: string } | undefined} */ (e);
    parentPort.postMessage({
      id: m.id,
      error: { code: x?.code, message: String(x?.message ?? e), side: x?.side },
    });
  }
});
