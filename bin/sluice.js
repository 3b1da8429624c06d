#!/usr/bin/env node
// Entry point of the `sluice` command. Runs the compiled sources (dist/<fingerprint>/, see
// scripts/build-cli.mjs), compiling them first when src/ changed since the last build, so
// `npm install && npm start` needs no build step and an edited source never runs stale. When they
// cannot be compiled (no esbuild, dist/ read-only), it says so and runs the sources through tsx.

import { statSync } from 'node:fs';
import { ensureBuild } from '../scripts/build-cli.mjs';

// stack traces name the .ts lines (SLUICE_DEBUG prints them); off otherwise: reading the maps of
// every module would slow each start
if (process.env.SLUICE_DEBUG) process.setSourceMapsEnabled(true);
const compiled = await ensureBuild();
// the optional native stat helper (scans), rebuilt when its C source is newer than its last build or
// failed attempt (nativeStale's rule, checked here by three stats: loading scripts/build-native.mjs
// at every start would cost ~1.5 ms); a failure is noted once and scans use the pure-Node path
const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const built = Math.max(mtime('../native/build/stat-many.node'), mtime('../native/build/stat-many.failed'));
if (mtime('../native/stat-many.c') > built) (await import('../scripts/build-native.mjs')).ensureNative();
if (compiled) {
  const { main } = await import(compiled);
  await main(process.argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv);
}
