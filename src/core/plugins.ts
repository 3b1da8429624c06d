/**
 * Loads a site's plugin module ("a module and an export"): custom metrics extractors
 * (src/metrics/registry.ts) and stream units (src/streams/units.ts). Checks the path, its extension
 * and (for `.ts`) that it is an ES module, then imports it; every problem is a PermanentError with the
 * caller's code. The caller picks and checks the export it needs.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, PermanentError, SluiceError } from './errors.ts';

export const PLUGIN_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts'];

/** The module at `module` (relative to `baseDir`), and how to name it in messages. */
export async function importPluginModule(
  module: string,
  baseDir: string,
  code: string,
): Promise<{ mod: Record<string, unknown>; where: string }> {
  const file = path.resolve(baseDir, module);
  const where = `plugin module '${module}' (${file})`;
  if (!PLUGIN_EXTENSIONS.includes(path.extname(file))) {
    throw new PermanentError(code, `${where}: expected a file ending in ${PLUGIN_EXTENSIONS.join(', ')}`);
  }
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new PermanentError(code, `${where} is not a file`);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new PermanentError(code, `${where} not found`, `paths are relative to ${baseDir}`, err);
  }
  if (path.extname(file) === '.ts' && (await packageType(file)) !== 'module') {
    // TypeScript plugins load through tsx (Sluice itself runs compiled), which compiles `.ts` as an ES
    // module only in an ES-module scope. Refuse clearly rather than fail on TypeScript syntax.
    throw new PermanentError(
      code,
      `${where}: a .ts plugin must be an ES module, but no package.json with "type": "module" is above it`,
      'rename it to .mts, or put a package.json containing {"type": "module"} in its folder',
    );
  }
  try {
    return { mod: (await importModule(file)) as Record<string, unknown>, where };
  } catch (err) {
    throw new PermanentError(code, `${where} failed to load: ${errorMessage(err)}`, undefined, err);
  }
}

/** Imports a plugin file; TypeScript ones through tsx (bin/sluice.js runs Sluice compiled, without it). */
async function importModule(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  if (!/\.[cm]?ts$/.test(file)) return import(url);
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(url, import.meta.url);
}

/** The `type` of the nearest package.json above `file` (Node's rule for `.ts`/`.js` module kind). */
async function packageType(file: string): Promise<string | undefined> {
  let dir = path.dirname(file);
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return typeof pkg.type === 'string' ? pkg.type : 'commonjs';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
