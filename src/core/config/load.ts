/**
 * Loading: find the file, pick the environment, read base + overlay, merge, interpolate, apply
 * DATABASE_URL, validate, resolve paths, and work out which values are secret.
 */
import { homedir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { describeFound } from './describe.ts';
import { interpolateOrThrow } from './interpolate.ts';
import { DEFAULT_MESSAGE, issuesToProblems } from './issues.ts';
import { configText, MAX_CONFIG_BYTES, readAtMost, textValueProblem } from './limits.ts';
import { mergeNodes } from './merge.ts';
import { ConfigInvalidError, type ConfigProblem, sortProblems } from './problems.ts';
import { type Config, configSchema, ENVIRONMENTS, type Environment, foldersOverlap } from './schema/index.ts';
import { collectSecrets, redact } from './secrets.ts';
import {
  formatOrigin,
  formatPath,
  type MapEntry,
  nodeAt,
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

export interface LoadedConfig {
  config: Config;
  env: Environment;
  /** Absolute paths of the files actually read: the base file, then the overlay if it exists. */
  files: string[];
  /** Dotted field paths whose value came from a secret or is sensitive (see redactedConfig). */
  secrets: string[];
}

const DOCS_HINT = 'see docs/configuration.md for every field, its type and its default';

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function expandHome(p: string): string {
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

export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
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
  return buildConfig(
    { text, file },
    overlayText === undefined ? undefined : { text: overlayText, file: overlayFile },
    env,
    environ,
    dirname(file),
  );
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

export interface ParseTextOptions {
  /** Default `local`. */
  env?: string;
  /** Default `{}` (not process.env), so results do not depend on the caller's environment. */
  environ?: NodeJS.ProcessEnv;
  /** An overlay to merge over `text`, as if read from `sluice.<env>.yaml`. */
  overlay?: { text: string; file: string };
  /** Directory for relative paths; default the directory of `file`. */
  baseDir?: string;
}

/** Validates config text without touching the config file system (secret files are still read). */
export function parseConfigText(text: string, file: string, opts: ParseTextOptions = {}): LoadedConfig {
  const environ = opts.environ ?? {};
  const env = resolveEnvironment(opts.env, {});
  return buildConfig({ text, file }, opts.overlay, env, environ, opts.baseDir ?? dirname(resolve(file)));
}

interface SourceText {
  text: string;
  file: string;
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

function buildConfig(
  base: SourceText,
  overlay: SourceText | undefined,
  env: Environment,
  environ: NodeJS.ProcessEnv,
  baseDir: string,
): LoadedConfig {
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

  const pre: ConfigProblem[] = [];
  const envEntry = nodeAt(tree, ['environment']);
  if (envEntry) {
    const where = formatOrigin(envEntry.keyOrigin ?? envEntry.node.origin);
    pre.push({
      where,
      origin: envEntry.keyOrigin,
      path: 'environment',
      message: `${where}: environment: expected no 'environment' field (it is set from --env or SLUICE_ENV), found ${describeFound(toPlain(envEntry.node))}`,
    });
  }

  const plain = toPlain(tree);
  const data: Record<string, unknown> = typeof plain === 'object' && plain !== null ? { ...plain } : {};
  data.environment = env;

  const fileSecrets = secretScalarPaths(tree);
  const fileSecretKeys = new Set(fileSecrets.map((p) => formatPath(p)));
  const result = configSchema.safeParse(data, { error: () => DEFAULT_MESSAGE });
  const problems = [
    ...pre,
    ...(result.success
      ? []
      : issuesToProblems(result.error.issues, {
          root: tree,
          data,
          schema: configSchema,
          fallbackSource: base.file,
          isFileSecret: (p) => fileSecretKeys.has(formatPath(p)),
        })),
  ];
  if (problems.length > 0 || !result.success) {
    throw new ConfigInvalidError(sortProblems(problems), DOCS_HINT);
  }

  const config = resolvePaths(result.data, baseDir);
  const overlaps = backupOverlaps(config, tree, base.file);
  if (overlaps.length > 0) {
    throw new ConfigInvalidError(
      overlaps,
      "set backup.path to a folder on another disk, outside every instrument's watch folder",
    );
  }
  const files = [base.file, ...(overlay ? [overlay.file] : [])];
  return { config, env, files, secrets: collectSecrets(config, fileSecrets) };
}

/**
 * backup.path must not be, contain or lie inside a watch folder: the "backup" would sit on the
 * instrument's disk, and cleanup could free the instrument while the only copy is on that disk.
 * Compares the resolved absolute paths, so `./raw` and `/srv/sluice/raw` are the same folder.
 */
function backupOverlaps(config: Config, tree: SNode | null, fallback: string): ConfigProblem[] {
  const backup = config.backup.path;
  const written = nodeAt(tree, ['backup', 'path']);
  // the default <data_dir>/backup: point at data_dir when the file sets it
  const origin = (written ?? nodeAt(tree, ['data_dir']))?.node.origin;
  const where = origin ? formatOrigin(origin) : fallback;
  const found = written ? `'${backup}'` : `'${backup}' (the default <data_dir>/backup)`;
  const problems: ConfigProblem[] = [];
  for (const [id, inst] of Object.entries(config.instruments)) {
    if (!foldersOverlap(backup, inst.watch)) continue;
    const how =
      backup === inst.watch
        ? 'which is'
        : backup.length > inst.watch.length
          ? 'which is inside'
          : 'which contains';
    problems.push({
      where,
      origin,
      path: 'backup.path',
      message:
        `${where}: backup.path: expected a folder outside every instrument's watch folder, found ${found}, ` +
        `${how} instruments.${id}.watch ('${inst.watch}'); backups on the instrument's disk are lost with it`,
    });
  }
  return problems;
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

function secretScalarPaths(node: SNode | null, path: PathSeg[] = [], out: PathSeg[][] = []): PathSeg[][] {
  if (node === null) return out;
  if (node.kind === 'scalar') {
    if (node.secret) out.push(path);
  } else if (node.kind === 'seq')
    node.items.forEach((item, i) => {
      secretScalarPaths(item, [...path, i], out);
    });
  else for (const [k, e] of node.entries) secretScalarPaths(e.node, [...path, k], out);
  return out;
}

/**
 * data_dir, backup.path, processing paths (output, template files, the SSH key and known_hosts),
 * instrument watch paths, database backup dirs and filesystem archive targets become absolute
 * (relative to the config file).
 */
function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string) => {
    const e = expandHome(p);
    return isAbsolute(e) ? resolve(e) : resolve(baseDir, e);
  };
  return {
    ...config,
    data_dir: abs(config.data_dir),
    database: {
      ...config.database,
      backups: config.database.backups.map((b) =>
        b.location.dir === undefined ? b : { ...b, location: { ...b.location, dir: abs(b.location.dir) } },
      ),
    },
    backup: { ...config.backup, path: abs(config.backup.path) },
    processing: {
      ...config.processing,
      output_path: abs(config.processing.output_path),
      slurm: config.processing.slurm.ssh
        ? {
            ...config.processing.slurm,
            ssh: {
              ...config.processing.slurm.ssh,
              key_file: abs(config.processing.slurm.ssh.key_file),
              known_hosts: abs(config.processing.slurm.ssh.known_hosts),
            },
          }
        : config.processing.slurm,
      settings: Object.fromEntries(
        Object.entries(config.processing.settings).map(([n, s]) => [
          n,
          { ...s, template_file: s.template_file === undefined ? undefined : abs(s.template_file) },
        ]),
      ),
    },
    instruments: Object.fromEntries(
      Object.entries(config.instruments).map(([id, inst]) => [id, { ...inst, watch: abs(inst.watch) }]),
    ),
    archive: {
      ...config.archive,
      targets: config.archive.targets.map((t) => (t.type === 'filesystem' ? { ...t, path: abs(t.path) } : t)),
    },
  };
}

/** The loaded configuration with every secret replaced by '***' (URL passwords only masked). */
export function redactedConfig(loaded: LoadedConfig): unknown {
  return redact(loaded.config, loaded.secrets);
}
