/**
 * How the compiled CLI loads the packages it bundles (scripts/build-cli.mjs VENDOR): each is a
 * CommonJS bundle, dist/<fp>/vendor/<name>.cjs, run here with V8's code cache (<name>.cjs.cache,
 * made when the build is), so a start neither parses nor compiles it again. Only the compiled
 * build uses this (vendor/<name>.js imports it); the sources import the packages themselves.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** A CommonJS module's source as the function Node wraps it in (on its first line: same line numbers). */
export function wrapped(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/**
 * Runs the CommonJS file at `url` as Node would (module, exports, require, __filename, __dirname)
 * and returns its exports. A cache that is missing, unreadable or does not fit (V8 checks it against
 * the source, its version and flags) only costs the compiling. `produce` (at build time): runs it
 * and writes its cache, which then holds the code of everything its loading ran.
 */
export function loadVendor(url: URL, produce = false): Record<string, unknown> {
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  if (!produce) {
    try {
      cachedData = readFileSync(`${file}.cache`);
    } catch {
      cachedData = undefined; // compiled as usual
    }
  }
  // the source starts on the wrapper's line: stack traces keep its line numbers
  const script = new Script(wrapped(source), { filename: file, cachedData });
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  if (produce) writeFileSync(`${file}.cache`, script.createCachedData());
  return module.exports;
}
