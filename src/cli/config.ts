/**
 * `sluice config init` (a starter configuration and its folders) and `sluice config check`.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { configFilePath, redactedConfig, starterConfig } from '../core/config/index.ts';
import { UsageError } from '../core/errors.ts';
import { loadAppConfig } from '../runtime/context.ts';
import { globals } from './context.ts';
import { printJson } from './output.ts';

const WRITE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOSPC: 'the disk is full',
  EEXIST: 'a part of the path is a file, not a folder',
};

/** `word` as is when the shell leaves it alone, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Writes the starter config, creating missing parent folders; write errors name the path. */
async function writeStarter(target: string, from: string): Promise<void> {
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, starterConfig(), { mode: 0o640 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new UsageError(
      `cannot write ${target} (${from}): ${WRITE_ERRORS[code] ?? (err as Error).message} (${code})`,
      ['EACCES', 'EPERM'].includes(code)
        ? `make ${path.dirname(target)} writable for this user, or choose another place with --output PATH`
        : 'choose another place with --output PATH',
    );
  }
}

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented starter config to --output, else to --config / $SLUICE_CONFIG, else ./sluice.yaml',
    )
    .option('-o, --output <path>', 'where to write it (default: --config, $SLUICE_CONFIG or ./sluice.yaml)')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { output?: string; force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const chosen = opts.output ?? g.config;
      const { file: target, fromEnv } = configFilePath({ path: chosen });
      const from =
        opts.output !== undefined
          ? 'from --output'
          : g.config !== undefined
            ? 'from --config'
            : fromEnv
              ? 'from SLUICE_CONFIG'
              : 'the default';
      const exists = await access(target).then(
        () => true,
        () => false,
      );
      if (exists && !opts.force) {
        throw new UsageError(
          `${target} already exists`,
          'pass --force to overwrite it, or --output to write elsewhere',
        );
      }
      await writeStarter(target, from);
      // `config check` without --config reads $SLUICE_CONFIG or ./sluice.yaml: name the file otherwise
      const found = configFilePath().file === target;
      const sluice = found ? 'sluice' : `sluice --config ${shellWord(target)}`;
      process.stdout.write(
        `wrote ${target}\nnext: edit the instruments and backup path, then run \`${sluice} config check\` and \`${sluice} start\`\n`,
      );
    });

  const config = program.command('config').description('configuration file commands');
  config
    .command('check')
    .description('validate the config (and its environment overlay) and print it resolved, secrets redacted')
    .option('--json', 'print JSON instead of YAML')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const loaded = await loadAppConfig(globals(cmd));
      const out = redactedConfig(loaded);
      if (opts.json) {
        printJson({ files: loaded.files, environment: loaded.env, config: out });
        return;
      }
      process.stdout.write(`# valid: ${loaded.files.join(' + ')} (environment: ${loaded.env})\n`);
      process.stdout.write(stringify(out));
    });
}
