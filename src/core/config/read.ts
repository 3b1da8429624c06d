/**
 * Reading the configuration up to its validation: find the file, pick the environment, read base +
 * overlay, merge, interpolate, apply DATABASE_URL (the tree every value's origin comes from). No
 * schema here: load.ts validates the whole tree; light.ts takes only the database settings from it
 * for read-only commands, without loading the schema (zod and every section's rules).
 */
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { describeFound } from './describe.ts';
import { ENVIRONMENTS, type Environment } from './environments.ts';
import { interpolateOrThrow } from './interpolate.ts';
import { configText, MAX_CONFIG_BYTES, readAtMost, textValueProblem } from './limits.ts';
import { mergeNodes } from './merge.ts';
import { ConfigInvalidError, type ConfigProblem, sortProblems } from './problems.ts';
import {
  formatOrigin,
  formatPath,
  type MapEntry,
  type Origin,
  type PathSeg,
  parseYamlFile,
  type SNode,
  toPlain,
} from './source.ts';

export interface LoadOptions {
  /** Config file; default `environ.SLUICE_CONFIG`, then `<cwd>/sluice.yaml`. */
  path?: string;
  /** Environment; default `environ.SLUICE_ENV`, then `local`. */
  env?: string;
  cwd?: string;
  /** Default `process.env`. */
  environ?: NodeJS.ProcessEnv;
}

export const DOCS_HINT = 'see docs/configuration.md for every field, its type and its default';

export function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return p;
}

export function resolveEnvironment(optEnv: string | undefined, environ: NodeJS.ProcessEnv): Environment {
  const fromOpt = nonEmpty(optEnv);
  const value = fromOpt ?? nonEmpty(environ.SLUICE_ENV) ?? 'local';
  const from = fromOpt !== undefined ? '--env' : 'SLUICE_ENV';
  if (!(ENVIRONMENTS as readonly string[]).includes(value)) {
    throw new ConfigError(
      `unknown environment '${value}' (from ${from}): expected one of ${ENVIRONMENTS.join(', ')}, found '${value}'`,
      from === '--env'
        ? `pass --env ${ENVIRONMENTS.join('|')}`
        : `set SLUICE_ENV to one of ${ENVIRONMENTS.join(', ')} or unset it`,
    );
  }
  return value as Environment;
}

/** `sluice.yaml` + `production` → `sluice.production.yaml` in the same directory. */
export function overlayPath(baseFile: string, env: Environment): string {
  const ext = extname(baseFile);
  const stem = basename(baseFile, ext);
  return join(dirname(baseFile), `${stem}.${env}${ext || '.yaml'}`);
}

/**
 * The config file `loadConfig` reads: `path`, else `$SLUICE_CONFIG`, else `<cwd>/sluice.yaml`, absolute
 * (`~/` expanded); `fromEnv` when it came from SLUICE_CONFIG.
 */
export function configFilePath(opts: Omit<LoadOptions, 'env'> = {}): { file: string; fromEnv: boolean } {
  const environ = opts.environ ?? process.env;
  const fromEnv = opts.path === undefined ? nonEmpty(environ.SLUICE_CONFIG) : undefined;
  const file = resolve(opts.cwd ?? process.cwd(), expandHome(opts.path ?? fromEnv ?? 'sluice.yaml'));
  return { file, fromEnv: fromEnv !== undefined };
}

export interface SourceText {
  text: string;
  file: string;
}

/** The base file's and the overlay's text, the environment, as `loadConfig` reads them. */
export async function readConfigSources(opts: LoadOptions = {}): Promise<{
  base: SourceText;
  overlay: SourceText | undefined;
  env: Environment;
  environ: NodeJS.ProcessEnv;
}> {
  const environ = opts.environ ?? process.env;
  const env = resolveEnvironment(opts.env, environ);
  const { file, fromEnv } = configFilePath({ ...opts, environ });
  const text = await readConfigFile(file, fromEnv ? ' (from SLUICE_CONFIG)' : '');
  if (text === undefined) {
    throw new ConfigError(
      `config file ${file} not found${fromEnv ? ' (from SLUICE_CONFIG)' : ''}`,
      'run `sluice init` to write a starter config, or pass --config PATH / set SLUICE_CONFIG',
    );
  }
  const overlayFile = overlayPath(file, env);
  const overlayText = await readConfigFile(overlayFile, '');
  return {
    base: { text, file },
    overlay: overlayText === undefined ? undefined : { text: overlayText, file: overlayFile },
    env,
    environ,
  };
}

/** Base and overlay merged, interpolated, DATABASE_URL applied; text that cannot be stored refused. */
export function configTree(
  base: SourceText,
  overlay: SourceText | undefined,
  environ: NodeJS.ProcessEnv,
  baseDir: string,
): SNode | null {
  let tree = mergeNodes(parseTop(base), overlay ? parseTop(overlay) : null);
  tree = interpolateOrThrow(tree, environ, baseDir);
  const databaseUrl = nonEmpty(environ.DATABASE_URL);
  if (databaseUrl !== undefined) tree = withDatabaseUrl(tree, databaseUrl);
  const badText = textProblems(tree);
  if (badText.length > 0) {
    throw new ConfigInvalidError(
      sortProblems(badText),
      'remove the \\0 or \\u escape from the quoted value (or the NUL byte from the secret file)',
    );
  }
  return tree;
}

/** The file's text, or undefined when it does not exist; too big or not UTF-8 is a ConfigError. */
async function readConfigFile(file: string, from: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = readAtMost(file, MAX_CONFIG_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') {
      throw new ConfigError(
        `config path ${file}${from} is a directory; expected a YAML file`,
        'pass the file itself, e.g. --config /etc/sluice/sluice.yaml',
      );
    }
    throw new ConfigError(
      `cannot read config file ${file}${from}: ${(err as Error).message}`,
      `check the permissions of ${file}`,
      err,
    );
  }
  return configText(bytes, file, from);
}

function parseTop(src: SourceText): SNode | null {
  const { root } = parseYamlFile(src.text, src.file);
  if (root?.kind === 'scalar' && root.value === null) return null; // a file holding just `~`
  if (root !== null && root.kind !== 'map') {
    const found = describeFound(toPlain(root));
    throw new ConfigError(
      `${formatOrigin(root.origin)}: (top level): expected a mapping of sections (data_dir:, database:, instruments:, ...), found ${found}`,
      `start ${src.file} with section names at the left margin, e.g. "instruments:"; ${DOCS_HINT}`,
    );
  }
  return root;
}

function withDatabaseUrl(tree: SNode | null, url: string): SNode {
  const origin: Origin = { source: 'environment variable DATABASE_URL' };
  const urlEntry: MapEntry = {
    keyOrigin: origin,
    node: { kind: 'scalar', origin, value: url, plain: false },
  };
  const root: SNode = tree ?? { kind: 'map', origin, entries: new Map() };
  if (root.kind !== 'map') return root;
  const entries = new Map(root.entries);
  const db = entries.get('database');
  if (db && db.node.kind === 'map') {
    const dbEntries = new Map(db.node.entries);
    dbEntries.set('url', urlEntry);
    entries.set('database', { keyOrigin: db.keyOrigin, node: { ...db.node, entries: dbEntries } });
  } else if (!db || (db.node.kind === 'scalar' && db.node.value === null)) {
    entries.set('database', {
      keyOrigin: db?.keyOrigin ?? origin,
      node: { kind: 'map', origin, entries: new Map([['url', urlEntry]]) },
    });
  }
  return { ...root, entries };
}

/** Keys and text values holding NUL or a lone surrogate (see limits.ts), each with its origin. */
function textProblems(node: SNode | null, path: PathSeg[] = [], out: ConfigProblem[] = []): ConfigProblem[] {
  const add = (origin: Origin, at: PathSeg[], what: string, phrase: string) => {
    const where = formatOrigin(origin);
    out.push({
      where,
      origin,
      path: formatPath(at),
      message: `${where}: ${formatPath(at)}: ${what} ${phrase}`,
    });
  };
  if (node === null) return out;
  if (node.kind === 'scalar') {
    const phrase = typeof node.value === 'string' ? textValueProblem(node.value) : undefined;
    if (phrase !== undefined) add(node.origin, path, node.secret ? 'secret value:' : 'value:', phrase);
  } else if (node.kind === 'seq')
    node.items.forEach((item, i) => {
      textProblems(item, [...path, i], out);
    });
  else
    for (const [k, e] of node.entries) {
      const phrase = textValueProblem(k);
      if (phrase !== undefined) add(e.keyOrigin, path, `key ${JSON.stringify(k)}:`, phrase);
      textProblems(e.node, [...path, k], out);
    }
  return out;
}
