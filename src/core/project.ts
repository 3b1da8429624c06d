/**
 * Where the project's own files outside src/ are (web/dist, scripts/): the folder holding
 * package.json above this module. The same from the sources (src/core/) and from a compiled copy
 * (dist/<build>/core/, which bin/sluice.js runs, see scripts/build-cli.mjs), where a path relative
 * to the module (`../../web/dist`) would land inside dist/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `from` that holds a package.json (else `from`'s root). */
export function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

/** The project's root folder. */
export const PROJECT_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A path inside the project, e.g. `projectPath('web/dist')`. */
export function projectPath(rel: string): string {
  return path.join(PROJECT_ROOT, rel);
}
