/**
 * Loading: read the configuration (read.ts: file, environment, overlay, merge, interpolation,
 * DATABASE_URL), validate it, resolve paths, and work out which values are secret.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeFound } from './describe.ts';
import { DEFAULT_MESSAGE, issuesToProblems } from './issues.ts';
import { ConfigInvalidError, type ConfigProblem, sortProblems } from './problems.ts';
import {
  configTree,
  DOCS_HINT,
  expandHome,
  type LoadOptions,
  readConfigSources,
  resolveEnvironment,
  type SourceText,
} from './read.ts';
import { type Config, configSchema, type Environment, foldersOverlap } from './schema/index.ts';
import { collectSecrets, redact } from './secrets.ts';
import { formatOrigin, formatPath, nodeAt, type PathSeg, type SNode, toPlain } from './source.ts';

export {
  configFilePath,
  type LoadOptions,
  overlayPath,
  resolveEnvironment,
} from './read.ts';

export interface LoadedConfig {
  config: Config;
  env: Environment;
  /** Absolute paths of the files actually read: the base file, then the overlay if it exists. */
  files: string[];
  /** Dotted field paths whose value came from a secret or is sensitive (see redactedConfig). */
  secrets: string[];
}

export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const { base, overlay, env, environ } = await readConfigSources(opts);
  return buildConfig(base, overlay, env, environ, dirname(base.file));
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

function buildConfig(
  base: SourceText,
  overlay: SourceText | undefined,
  env: Environment,
  environ: NodeJS.ProcessEnv,
  baseDir: string,
): LoadedConfig {
  const tree = configTree(base, overlay, environ, baseDir);

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
  const targetClashes = fsTargetOverlaps(config, tree, base.file);
  if (targetClashes.length > 0) {
    throw new ConfigInvalidError(
      targetClashes,
      "set each filesystem target's path to a folder on another disk: apart from backup.path, the other targets and every watch folder",
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

/**
 * A filesystem backup target (`backup.targets[].path`) must be another place than the primary
 * backup, the other filesystem targets and every watch folder: not the same folder, not inside one,
 * not containing one (a copy there would be a copy on the same disk, or inside what it backs up).
 */
function fsTargetOverlaps(config: Config, tree: SNode | null, fallback: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const others: [string, string][] = [
    ['backup.path', config.backup.path],
    ...Object.entries(config.instruments).map(([id, i]): [string, string] => [
      `instruments.${id}.watch`,
      i.watch,
    ]),
  ];
  config.backup.targets.forEach((t, i) => {
    if (t.type !== 'filesystem') return;
    const key = `backup.targets.${i}.path`;
    const origin = nodeAt(tree, ['backup', 'targets', i, 'path'])?.node.origin;
    const where = origin ? formatOrigin(origin) : fallback;
    const clash = others.find(([, p]) => foldersOverlap(t.path, p));
    if (clash) {
      const how =
        t.path === clash[1]
          ? 'which is'
          : t.path.length > clash[1].length
            ? 'which is inside'
            : 'which contains';
      problems.push({
        where,
        origin,
        path: key,
        message: `${where}: backup.targets[${i}].path: expected a folder apart from backup.path, the other filesystem targets and every watch folder, found '${t.path}', ${how} ${clash[0]} ('${clash[1]}'); a second copy must be in another place`,
      });
    }
    others.push([`backup.targets[${i}].path`, t.path]);
  });
  return problems;
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
    backup: {
      ...config.backup,
      path: abs(config.backup.path),
      targets: config.backup.targets.map((t) => (t.type === 'filesystem' ? { ...t, path: abs(t.path) } : t)),
    },
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
