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
 * @typedef {{ id: number; type: 'whole'; src: FsPath; dest: FsPath; parent: FsPath; partialDir: FsPath; tempDir: FsPath; makeTempDir: boolean; temp: FsPath; algorithm: string; fast: boolean; check: string; space: boolean; piece: number; modeSet: number; modeKeep: number }} WholeRequest
 * @typedef {{ marker: string; instance: string; mountRoot?: string }} TargetGuard
 * @typedef {{ id: number; type: 'commit'; temp: FsPath; dest: FsPath; partialDir?: FsPath; guard?: TargetGuard }} CommitRequest
 * @typedef {CopyRequest | ReadBackRequest | WholeRequest | CommitRequest | PingRequest} Request
 * @typedef {{ type: 'seq'; items: Request[] }} SeqRequest
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

/**
 * fsutil.ts fsyncDir, synchronously.
 * @param {FsPath} dir
 */
function fsyncDirSync(dir) {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    closeQuietly(fd);
  }
}

/**
 * `lstat`, or undefined when nothing is there (any other error is thrown).
 * @param {FsPath} p
 */
function lstatOrMissing(p) {
  try {
    // no error object made for the usual answer (nothing there): it cost a stack trace per call
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    const code = /** @type {{ code?: string }} */ (e).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * preflight.ts ensureParent, synchronously: create `dir` and its missing parents, then make each new
 * entry durable (fsync of every parent from `dir`'s up to the first one created's).
 * @param {string} dir
 */
function ensureParentSync(dir) {
  const first = fs.mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = dirnameOf(d)) {
    fsyncDirSync(dirnameOf(d));
    if (d === first || dirnameOf(d) === d) break;
  }
}

/** @param {string} p */
function dirnameOf(p) {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * One small file's whole copy up to its commit (small-files.ts `copyWhole`): the checks and the
 * writes copy.ts makes for a file, in one call. Stops before writing anything (`stop`) when the
 * general path must decide: something already at `dest`, a leftover partial folder, a source that
 * is not a regular file (or cannot be stat'ed), too little free space.
 * @param {WholeRequest} m
 */
function whole(m) {
  if (side('target', () => lstatOrMissing(m.dest))) return { stop: 'dest exists' };
  side('target', () => ensureParentSync(/** @type {string} */ (m.parent)));
  if (side('target', () => lstatOrMissing(m.partialDir))) return { stop: 'leftover partial folder' };
  /** @type {fs.Stats | undefined} */
  let listed;
  try {
    listed = fs.lstatSync(m.src);
  } catch {
    return { stop: 'source cannot be stat-ed' };
  }
  if (!listed.isFile()) return { stop: 'source is not a regular file' };
  if (m.space) {
    /** @type {fs.StatsFs | undefined} */
    let st;
    try {
      st = fs.statfsSync(m.parent);
    } catch {} // not every filesystem answers (preflight.ts checkFreeSpace)
    if (st && st.bavail * st.bsize < listed.size + 4096) return { stop: 'too little free space' };
  }
  if (m.makeTempDir) {
    side('target', () => {
      try {
        fs.mkdirSync(m.tempDir, { mode: 0o700 });
      } catch (e) {
        if (/** @type {{ code?: string }} */ (e).code !== 'EEXIST') throw e;
      }
    });
  }
  const copied = copy({ ...m, type: 'copy', dst: m.temp });
  const back = side('target', () =>
    readBack({ id: m.id, type: 'readBack', path: m.temp, algorithm: m.check }),
  );
  const t = side('target', () => fs.lstatSync(m.temp));
  return {
    listed: { size: listed.size, mtimeMs: listed.mtimeMs },
    ...copied,
    afterFile: fs.lstatSync(m.src).isFile(),
    back,
    tempFile: t.isFile(),
    tempSize: t.size,
  };
}

/**
 * target.ts's usual answer, synchronously: with `mountRoot`, that folder is a mount point
 * (mount.ts isMountPoint); the marker file names `instance`. Any failure or doubt is `false` (the
 * caller then asks target.ts itself).
 * @param {TargetGuard} g
 */
function targetStillOk(g) {
  try {
    if (g.mountRoot !== undefined) {
      const self = fs.statSync(g.mountRoot);
      const parent = fs.statSync(dirnameOf(g.mountRoot));
      if (self.dev === parent.dev && self.ino !== parent.ino) return false;
    }
    const m = JSON.parse(fs.readFileSync(g.marker, 'utf8'));
    return typeof m?.instance === 'string' && m.instance === g.instance;
  } catch {
    return false;
  }
}

/**
 * rename.ts commitFile's usual way, synchronously: link the temp to `dest` (never replacing; EEXIST
 * is `exists`), unlink the temp, remove the emptied partial folder when given (its failure ignored,
 * as copy.ts does; a batch's folder is removed by the batch); first, with a `guard`, check the target is still this instance's (`guardFailed`: it may
 * not be, nothing was changed). Any other failure of the link (a filesystem without hard links) is the caller's to handle.
 * @param {CommitRequest} m
 */
function commit(m) {
  if (m.guard && !targetStillOk(m.guard)) return { guardFailed: true };
  try {
    fs.linkSync(m.temp, m.dest);
  } catch (e) {
    if (/** @type {{ code?: string }} */ (e).code === 'EEXIST') return { exists: true };
    return { linkFailed: String(/** @type {{ code?: string }} */ (e).code) };
  }
  side('target', () => fs.unlinkSync(m.temp));
  if (m.partialDir !== undefined) {
    try {
      fs.rmdirSync(m.partialDir);
    } catch {}
  }
  return {};
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

/** @param {CopyRequest | ReadBackRequest | WholeRequest | CommitRequest} m */
function answer(m) {
  if (m.type === 'copy') return copy(m);
  if (m.type === 'whole') return whole(m);
  if (m.type === 'commit') return commit(m);
  return readBack(m);
}

/**
 * The reply to one request: its result, or its error (with the side it happened on).
 * @param {Request} m
 */
function reply(m) {
  try {
    if (m.type === 'ping') return { id: m.id };
    return { id: m.id, ...answer(m) };
  } catch (e) {
    const x = /** @type {{ code?: string; message?: string; side?: string } | undefined} */ (e);
    return { id: m.id, error: { code: x?.code, message: String(x?.message ?? e), side: x?.side } };
  }
}

parentPort.on('message', (/** @type {Request | SeqRequest} */ m) => {
  // several requests in one message (thread-calls.ts `coalesce`): each answered in order, as if
  // sent alone, and the replies sent back together
  if (m.type === 'seq') parentPort.postMessage({ results: m.items.map(reply) });
  else parentPort.postMessage(reply(m));
});
