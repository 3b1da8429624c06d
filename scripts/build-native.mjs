/**
 * Builds the optional native stat helper (native/stat-many.c, a Node-API addon) into
 * native/build/stat-many.node with the system C compiler (`$CC`, else `cc`) and the headers of the
 * running Node (<prefix>/include/node, shipped with Node): no node-gyp, no download.
 *
 * Optional by design: when the compiler or the headers are missing, or the build fails, this says
 * so in one line, writes the reason to native/build/stat-many.failed (read by the loader,
 * src/intake/native-stat.mjs, for its log line and `sluice doctor`) and exits 0, so `npm ci`
 * never fails for it; scans then use the pure-Node path. `--if-stale`: only when the source is
 * newer than the last build or last failure (what `npm ci`/`prepare` and bin/sluice.js run).
 */
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the source, the build and the failure note are. */
export function nativePaths(root = ROOT) {
  const build = path.join(root, 'native', 'build');
  return {
    source: path.join(root, 'native', 'stat-many.c'),
    build,
    addon: path.join(build, 'stat-many.node'),
    failed: path.join(build, 'stat-many.failed'),
  };
}

const mtime = (p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs;

/** Whether a build (or a failed attempt) is older than the source; false without the source. */
export function nativeStale(root = ROOT) {
  const p = nativePaths(root);
  const src = mtime(p.source);
  if (src === undefined) return false;
  const last = Math.max(mtime(p.addon) ?? -1, mtime(p.failed) ?? -1);
  return last < src;
}

/**
 * Compiles the helper; returns `{ ok: true, addon }` or `{ ok: false, why }` (also written to the
 * failure note). Never throws.
 */
export function buildNative(root = ROOT) {
  try {
    return build(root);
  } catch (err) {
    return { ok: false, why: `the build failed (${err.code ?? err.message})` };
  }
}

function build(root) {
  const p = nativePaths(root);
  const tmp = `${p.addon}.tmp-${process.pid}`;
  try {
    mkdirSync(p.build, { recursive: true });
  } catch (err) {
    return { ok: false, why: `cannot create ${p.build} (${err.code ?? err.message})` };
  }
  const done = (why) => {
    try {
      rmSync(tmp, { force: true });
      rmSync(p.addon, { force: true }); // a build of an older source would run stale code
      writeFileSync(p.failed, `${why}\n`);
    } catch {}
    return { ok: false, why };
  };
  if (!existsSync(p.source)) return done(`its source ${p.source} is missing`);
  const include = path.join(path.dirname(path.dirname(realpathSync(process.execPath))), 'include', 'node');
  if (!existsSync(path.join(include, 'node_api.h')))
    return done(`Node's C headers are missing (no ${include}/node_api.h)`);
  const cc = process.env.CC || 'cc';
  // loaded only to build: importing child_process costs ~3 ms of every start of bin/sluice.js
  const { execFileSync } = createRequire(import.meta.url)('node:child_process');
  try {
    execFileSync(cc, ['-O2', '-shared', '-fPIC', '-Wall', `-I${include}`, p.source, '-o', tmp], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    if (err.code === 'ENOENT') return done(`no C compiler (${cc} not found)`);
    const first = String(err.stderr ?? err.message)
      .trim()
      .split('\n')[0];
    return done(`the C compiler failed: ${first}`);
  }
  renameSync(tmp, p.addon); // atomic: a thread loading the old file is not disturbed
  rmSync(p.failed, { force: true });
  return { ok: true, addon: p.addon };
}

/** Builds when stale (see the header); quiet unless it builds. */
export function ensureNative(root = ROOT, say = (m) => process.stderr.write(`sluice: ${m}\n`)) {
  if (!nativeStale(root)) return;
  const r = buildNative(root);
  if (r.ok) say(`built the native stat helper: ${path.relative(process.cwd(), r.addon)}`);
  else say(`native stat helper not built (${r.why}): scans use the slower pure-Node path`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv.includes('--if-stale')) ensureNative();
  else {
    const r = buildNative();
    process.stdout.write(
      r.ok
        ? `sluice: built the native stat helper: ${path.relative(process.cwd(), r.addon)}\n`
        : `sluice: native stat helper not built (${r.why}): scans use the slower pure-Node path\n`,
    );
  }
}
