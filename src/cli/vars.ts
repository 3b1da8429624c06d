/** `sluice vars …`: runtime variables — list, get, set and unset (each change audited), and their history. */
import type { Command } from 'commander';
import { parseVariableInput, variableDef } from '../core/variables.ts';
import { MAX_LIST_LIMIT, parseIntArg } from './args.ts';
import { actor, withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

/** `sluice vars list`: every variable with its value and where the value comes from */
function listCommand(vars: Command): void {
  vars
    .command('list')
    .description('every variable with its value and where the value comes from')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ vars: v }) => {
        const list = await v.list();
        if (opts.json) return printJson(list);
        printTable(
          list.map((x) => ({
            name: x.name,
            value: JSON.stringify(x.value),
            source: x.source,
            set_by: x.updatedBy,
            description: x.description,
          })),
        );
      });
    });
}

/** `sluice vars get`: print one variable */
function getCommand(vars: Command): void {
  vars
    .command('get <name>')
    .description('print one variable')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      variableDef(name);
      await withContext(cmd, async ({ vars: v }) => {
        const x = (await v.list()).find((e) => e.name === name)!;
        if (opts.json) return printJson(x);
        process.stdout.write(
          `${JSON.stringify(x.value)}  (${x.source}${x.updatedBy ? `, set by ${x.updatedBy} at ${x.updatedAt}` : ''})\n`,
        );
      });
    });
}

/** `sluice vars set`: override a variable at runtime (JSON values: 42, true, null, "text"; bare words are strings) */
function setCommand(vars: Command): void {
  vars
    .command('set <name> <value>')
    .description(
      'override a variable at runtime (JSON values: 42, true, null, "text"; bare words are strings)',
    )
    .action(async (name: string, raw: string, _opts: unknown, cmd: Command) => {
      const value = parseVariableInput(name, raw);
      await withContext(cmd, async ({ vars: v, db }) => {
        await db.tx((tx) => v.set(name, value, actor(), tx));
        process.stdout.write(`${name} = ${JSON.stringify(value)}\n`);
      });
    });
}

/** `sluice vars unset`: remove the override; the config file value (or the default) applies again */
function unsetCommand(vars: Command): void {
  vars
    .command('unset <name>')
    .description('remove the override; the config file value (or the default) applies again')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      variableDef(name);
      await withContext(cmd, async ({ vars: v, db }) => {
        const removed = await db.tx((tx) => v.unset(name, actor(), tx));
        process.stdout.write(removed ? `${name}: override removed\n` : `${name} had no override\n`);
      });
    });
}

/** `sluice vars history`: the audit trail of variable changes (who, when, old, new) */
function historyCommand(vars: Command): void {
  vars
    .command('history [name]')
    .description('the audit trail of variable changes (who, when, old, new)')
    .option('--json', 'machine-readable output')
    .option('-n, --limit <n>', `how many entries (1 to ${MAX_LIST_LIMIT})`, '50')
    .action(async (name: string | undefined, opts: { json?: boolean; limit: string }, cmd: Command) => {
      if (name) variableDef(name);
      const limit = parseIntArg('--limit', opts.limit, 1, MAX_LIST_LIMIT);
      await withContext(cmd, async ({ vars: v }) => {
        const rows = await v.audit(name, limit);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((r) => ({
            at: r.at,
            name: r.name,
            old: JSON.stringify(r.old_value),
            new: JSON.stringify(r.new_value),
            by: r.actor,
          })),
          '(no changes recorded)',
        );
      });
    });
}

export function registerVarCommands(program: Command): void {
  const vars = program
    .command('vars')
    .description('runtime variables: defaults from the config file, overrides in the database (audited)');
  listCommand(vars);
  getCommand(vars);
  setCommand(vars);
  unsetCommand(vars);
  historyCommand(vars);
}
