/**
 * The light read path for read-only commands (`sluice files list`): only the settings that open
 * the database (data_dir, database.url, embedded_port, pool_size), read without the schema: the
 * schema (zod and every section's rules) is most of what such a command costs to start. The file is
 * read exactly as `loadConfig` reads it (read.ts: environment, overlay, interpolation of the whole
 * file, DATABASE_URL), so a missing file or variable fails the same way. The other sections are not
 * checked here: a read-only command answers even while another section has a mistake (`sluice
 * config check` and every command that acts still refuse it). Any of these settings that is not
 * plainly valid gives undefined: the caller then loads the whole config, which says what is wrong.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { urlPortsValid } from './limits.ts';
import { configTree, expandHome, type LoadOptions, readConfigSources } from './read.ts';
import { nodeAt, type SNode } from './source.ts';

/** What opening the database needs (the same values, defaults and paths as the loaded config). */
export interface DatabaseSettings {
  data_dir: string;
  database: { url?: string; embedded_port: number; pool_size: number };
}

/** The keys of `database:` the schema knows (any other one is a mistake the full load reports). */
const DATABASE_KEYS = new Set(['url', 'embedded_port', 'pool_size', 'backups']);

export async function readDatabaseSettings(opts: LoadOptions = {}): Promise<DatabaseSettings | undefined> {
  const { base, overlay, environ } = await readConfigSources(opts);
  const baseDir = dirname(base.file);
  return databaseSettings(configTree(base, overlay, environ, baseDir), baseDir);
}

/** The database settings of a config tree, or undefined when one is not plainly valid. */
export function databaseSettings(tree: SNode | null, baseDir: string): DatabaseSettings | undefined {
  if (tree !== null && tree.kind !== 'map') return undefined;
  if (nodeAt(tree, ['environment'])) return undefined;
  const dataDir = value(tree, ['data_dir'], './sluice-data');
  if (typeof dataDir !== 'string' || dataDir === '') return undefined;
  const db = nodeAt(tree, ['database'])?.node;
  if (db !== undefined && !(db.kind === 'map' || (db.kind === 'scalar' && db.value === null)))
    return undefined;
  if (db?.kind === 'map' && [...db.entries.keys()].some((k) => !DATABASE_KEYS.has(k))) return undefined;
  const url = value(tree, ['database', 'url'], undefined);
  const port = value(tree, ['database', 'embedded_port'], 54329);
  const pool = value(tree, ['database', 'pool_size'], 10);
  if (
    url !== undefined &&
    !(typeof url === 'string' && /^postgres(ql)?:\/\/./i.test(url) && urlPortsValid(url))
  )
    return undefined;
  if (!isInt(port, 1024, 65535) || !isInt(pool, 1, 100)) return undefined;
  const home = expandHome(dataDir);
  return {
    data_dir: isAbsolute(home) ? resolve(home) : resolve(baseDir, home),
    database: { ...(url === undefined ? {} : { url }), embedded_port: port, pool_size: pool },
  };
}

/** A scalar's value, `fallback` when absent; a mapping or list gives NaN (never valid here). */
function value(tree: SNode | null, path: string[], fallback: unknown): unknown {
  const at = nodeAt(tree, path);
  if (!at) return fallback;
  return at.node.kind === 'scalar' ? at.node.value : Number.NaN;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
