#!/usr/bin/env node
/**
 * Compiles the TypeScript sources (src/) to JavaScript in dist/<fingerprint>/, which bin/sluice.js
 * runs: a command then starts without compiling TypeScript first (tsx took ~1 s of every start).
 *
 *   node scripts/build-cli.mjs             build now (npm run build; `prepare` runs it at npm install)
 *   node scripts/build-cli.mjs --if-stale  build only when no build of the current sources exists
 *
 * The fingerprint is a hash of every source file's path, size and modification time (plus this
 * script, tsconfig.json and esbuild's version): a stat of each file, a few milliseconds, done by bin/sluice.js at every
 * start. An edited, added or removed source gives a new fingerprint, so stale code never runs.
 *
 * Each build is a folder of its own, written to a temporary name and renamed into place, so a
 * process never loads half a build and one that started from an older build keeps its files while
 * a newer one is made. Many processes starting at once (the test suite) take turns on a lock
 * directory (dist/.lock; one older than two minutes is a crashed build's and is taken over), and a
 * waiting one checks again once it is free: the first one builds, the others use its build.
 *
 * Every file is compiled on its own (esbuild, no bundling): src/x/y.ts becomes dist/<fp>/x/y.js
 * with its imports pointing at .js, packages stay imports of node_modules, and the other files
 * (worker-thread bodies *.mjs, SQL migrations, fixtures) are copied beside them, so paths relative
 * to a module (new URL('./hash-thread-body.mjs', import.meta.url)) hold. Files outside src/
 * (web/dist, scripts/) are found through src/core/project.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCK_STALE_MS = 2 * 60_000;
/** Builds kept beside the current one (a long-running process may still load from an older one). */
const KEEP_OLD_BUILDS = 4;

/** A source file as the fingerprint sees it. */
/** @typedef {{ rel: string; size: number; mtimeMs: number }} SourceStat */

/** Source files that do not go into the build (unit tests beside the code). */
export function isBuildSource(rel) {
  return !rel.endsWith('.test.ts');
}

/** The fingerprint of a set of sources: 16 hex digits, the same for the same (path, size, mtime)s. */
export function fingerprint(/** @type {SourceStat[]} */ entries) {
  const lines = entries.map((e) => `${e.rel}\t${e.size}\t${e.mtimeMs}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

/**
 * Which old builds to delete: all but the `keep` newest, never `current` nor a folder being
 * written (a `.tmp-` one younger than the lock's limit), nor the lock.
 */
export function prunable(
  /** @type {{ name: string; mtimeMs: number }[]} */ builds,
  /** @type {string} */ current,
  /** @type {number} */ now,
  keep = KEEP_OLD_BUILDS,
) {
  const done = builds.filter((b) => /^[0-9a-f]{16}$/.test(b.name) && b.name !== current);
  const old = done.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(keep);
  const crashed = builds.filter((b) => b.name.startsWith('.tmp-') && now - b.mtimeMs > LOCK_STALE_MS);
  return [...old, ...crashed].map((b) => b.name);
}

/**
 * The (path, size, mtime) of every file the build depends on. A walk of its own rather than
 * readdirSync's `recursive` (which builds a Dirent and a path for every entry twice over): this runs
 * at every start, and it halves the check's CPU time (~13 -> ~7 ms for ~460 sources).
 */
export function sourceStats(root = ROOT) {
  /** @type {SourceStat[]} */
  const out = [];
  const visit = (/** @type {string} */ dir, /** @type {string} */ prefix) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix + e.name;
      const full = `${dir}${path.sep}${e.name}`;
      if (e.isDirectory()) visit(full, rel + path.sep);
      else if (e.isFile() && isBuildSource(rel)) {
        const s = statSync(full);
        out.push({ rel, size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  visit(path.join(root, 'src'), '');
  // package-lock.json: a dependency installed or upgraded changes the vendor bundles (below)
  for (const rel of [
    'scripts/build-cli.mjs',
    'tsconfig.json',
    'package-lock.json',
    'node_modules/esbuild/package.json',
  ]) {
    const s = statSync(path.join(root, rel), { throwIfNoEntry: false });
    if (s) out.push({ rel: `../${rel}`, size: s.size, mtimeMs: s.mtimeMs });
  }
  return out;
}

/** Where the build of the current sources is (it may not exist yet). */
export function currentBuild(root = ROOT) {
  const fp = fingerprint(sourceStats(root));
  return { fp, dir: path.join(root, 'dist', fp), main: path.join(root, 'dist', fp, 'cli', 'main.js') };
}

/**
 * Packages every command loads, each bundled into one file of the build that the compiled sources
 * import instead of node_modules: loading a package as one file instead of its tens of modules
 * (zod: 94) halves its cost. Measured in CPU time on this machine: zod 145 -> 78 ms, yaml 73 -> 26,
 * pg 100 -> 70, pino 55 -> 28 (of a `files list` of ~750 ms). `esm`: an ES module package
 * (re-exported as is); `cjs`: a CommonJS one (exported as Node would: `default` is module.exports,
 * the named exports are its properties). Packages they load only on demand and may lack
 * (pg-native, pg-cloudflare) stay imports of node_modules. Worker-thread bodies (*.mjs) and plugins
 * import node_modules as before; these packages keep no state shared across such copies.
 *
 * Each is a CommonJS bundle (vendor/<name>.cjs) run by src/core/vendor-load.ts with V8's code cache
 * (vendor/<name>.cjs.cache, made when the build is: the compiled code of the bundle and of what its
 * loading ran), behind an ES module of the same exports (vendor/<name>.js): no parsing nor
 * compiling of it at each start. pg + yaml + commander: ~45 -> ~33 ms of CPU. V8 checks a cache
 * against the source, its version and flags, and compiles as usual when it does not fit.
 */
export const VENDOR = { zod: 'esm', commander: 'esm', yaml: 'cjs', pg: 'cjs', pino: 'cjs' };
const VENDOR_EXTERNAL = ['pg-native', 'pg-cloudflare'];

/** The names a vendor bundle exports (those of the package as Node imports it). */
async function exportNames(name) {
  return Object.keys(await import(name));
}

/** The entry module of a vendor bundle: re-exports `name` with the exports Node gives it. */
export async function vendorEntry(name, kind) {
  const ns = await import(name);
  const spec = JSON.stringify(name);
  if (kind === 'esm')
    return `export * from ${spec};\n${'default' in ns ? `export { default } from ${spec};\n` : ''}`;
  const names = (await exportNames(name)).filter((k) => k !== 'default');
  return [
    `import * as ns from ${spec};`,
    'export default ns.default;',
    ...names.map(
      (k, i) => `const x${i} = ns[${JSON.stringify(k)}];\nexport { x${i} as ${JSON.stringify(k)} };`,
    ),
    '',
  ].join('\n');
}

/** The ES module standing for vendor/<name>.cjs: its exports, loaded by src/core/vendor-load.ts. */
export function vendorFacade(name, names) {
  return [
    "import { loadVendor } from '../core/vendor-load.js';",
    `const m = loadVendor(new URL(${JSON.stringify(`./${name}.cjs`)}, import.meta.url));`,
    ...(names.includes('default') ? ['export default m.default;'] : []),
    ...names
      .filter((k) => k !== 'default')
      .map((k, i) => `const x${i} = m[${JSON.stringify(k)}];\nexport { x${i} as ${JSON.stringify(k)} };`),
    '',
  ].join('\n');
}

/** Bundles each VENDOR package into `outDir`/vendor/ (see VENDOR), code caches included. */
async function bundleVendor(root, outDir, esbuild) {
  const entries = path.join(outDir, '.vendor-entries');
  const vendor = path.join(outDir, 'vendor');
  await mkdir(entries, { recursive: true });
  await mkdir(vendor, { recursive: true });
  for (const [name, kind] of Object.entries(VENDOR)) {
    const entry = path.join(entries, `${name}.mjs`); // .mjs: Node's CommonJS interop rules
    await writeFile(entry, await vendorEntry(name, kind));
    await esbuild.build({
      entryPoints: [entry],
      outfile: path.join(vendor, `${name}.cjs`),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: VENDOR_EXTERNAL,
      logLevel: 'error',
      absWorkingDir: root,
    });
    await writeFile(path.join(vendor, `${name}.js`), vendorFacade(name, await exportNames(name)));
  }
  await rm(entries, { recursive: true, force: true });
  const loader = pathToFileURL(path.join(outDir, 'core', 'vendor-load.js')).href;
  const { loadVendor } = await import(loader);
  for (const name of Object.keys(VENDOR)) loadVendor(pathToFileURL(path.join(vendor, `${name}.cjs`)), true);
}

/** Compiles src/ into `outDir` (see the header); throws on a compile error. */
async function compile(root, outDir, esbuild) {
  const src = path.join(root, 'src');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(src, path.join(e.parentPath ?? e.path, e.name)))
    .filter(isBuildSource);
  const ts = files.filter((f) => f.endsWith('.ts'));
  await esbuild.build({
    entryPoints: ts.map((f) => path.join(src, f)),
    outdir: outDir,
    outbase: src,
    bundle: true, // only so that the plugin sees every import: it makes them all external
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked', // x.js.map beside x.js, read only when source maps are on (SLUICE_DEBUG)
    sourcesContent: false,
    logLevel: 'error',
    absWorkingDir: root,
    plugins: [
      {
        name: 'one-file-each',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (a) => {
            if (a.kind === 'entry-point') return undefined;
            if (a.path.startsWith('.')) return { path: a.path.replace(/\.ts$/, '.js'), external: true };
            if (Object.hasOwn(VENDOR, a.path)) {
              // the build mirrors src/, so the path from the importer is the same in both
              const to = path.relative(path.dirname(a.importer), path.join(src, 'vendor', `${a.path}.js`));
              return { path: to.startsWith('.') ? to : `./${to}`, external: true };
            }
            return { external: true };
          });
        },
      },
    ],
  });
  await bundleVendor(root, outDir, esbuild);
  for (const f of files.filter((f) => !f.endsWith('.ts'))) {
    await mkdir(path.join(outDir, path.dirname(f)), { recursive: true });
    await copyFile(path.join(src, f), path.join(outDir, f));
  }
}

async function prune(root, current) {
  const dist = path.join(root, 'dist');
  const builds = [];
  for (const name of await readdir(dist)) {
    const s = await stat(path.join(dist, name)).catch(() => undefined);
    if (s?.isDirectory()) builds.push({ name, mtimeMs: s.mtimeMs });
  }
  for (const name of prunable(builds, current, Date.now()))
    await rm(path.join(dist, name), { recursive: true, force: true });
}

/**
 * Makes sure a build of the current sources exists and returns its cli/main.js, building it when
 * needed (`force`: always). Returns undefined, after a one-line notice on stderr, when it cannot:
 * esbuild missing, dist/ not writable, or a compile error (tsx then reports the error in full).
 */
export async function ensureBuild({ root = ROOT, force = false, quiet = false } = {}) {
  let build = currentBuild(root);
  if (!force && existsSync(build.main)) return build.main;
  const say = (msg) => process.stderr.write(`sluice: ${msg}\n`);
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    say('cannot compile the sources (esbuild is not installed): running them through tsx (slower start)');
    return undefined;
  }
  const dist = path.join(root, 'dist');
  const lock = path.join(dist, '.lock');
  try {
    await mkdir(dist, { recursive: true });
    const { takeLock } = await import('./build-lock.mjs'); // only when building: not at every start
    await takeLock(lock, { staleMs: LOCK_STALE_MS, pollMs: 100 });
  } catch (err) {
    say(`cannot compile the sources (${err.code ?? err.message}): running them through tsx (slower start)`);
    return undefined;
  }
  try {
    build = currentBuild(root); // the sources may have changed, or another process built them
    if (!force && existsSync(build.main)) return build.main;
    if (!quiet) say('compiling the sources (changed since the last build)…');
    const tmp = path.join(dist, `.tmp-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await compile(root, tmp, esbuild);
    const old = path.join(dist, `.tmp-old-${process.pid}`);
    if (existsSync(build.dir)) await rename(build.dir, old); // `force` replaces a build
    await rename(tmp, build.dir);
    await rm(old, { recursive: true, force: true });
    await prune(root, build.fp);
    return build.main;
  } catch (err) {
    say(`compiling the sources failed, running them through tsx: ${String(err.message).split('\n')[0]}`);
    return undefined;
  } finally {
    await rm(lock, { recursive: true, force: true });
    esbuild.stop?.();
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (!existsSync(path.join(ROOT, 'src'))) process.exit(0); // e.g. `npm ci` in an image stage without sources
  const ifStale = process.argv.includes('--if-stale');
  const fresh = ifStale && existsSync(currentBuild().main);
  const main = await ensureBuild({ force: !ifStale, quiet: true });
  if (!main) process.exit(1);
  const dir = path.relative(process.cwd(), path.dirname(path.dirname(main)));
  process.stdout.write(
    `sluice: ${fresh ? 'the compiled sources are current' : 'compiled the sources'}: ${dir}\n`,
  );
}
