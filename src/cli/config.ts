import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { redactedConfig, starterConfig } from '../core/config/index.ts';
import { UsageError } from '../core/errors.ts';
import { loadAppConfig } from '../runtime/context.ts';
import { globals } from './common.ts';
import { printJson } from './output.ts';

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .description('write a commented starter sluice.yaml')
    .option('-o, --output <path>', 'where to write it', 'sluice.yaml')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { output: string; force?: boolean }) => {
      const target = path.resolve(opts.output);
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
      await writeFile(target, starterConfig(), { mode: 0o640 });
      process.stdout.write(
        `wrote ${target}\nnext: edit the instruments and backup path, then run \`sluice config check\` and \`sluice start\`\n`,
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
