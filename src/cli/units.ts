/**
 * `sluice units list|rerun|reruns|runs` and `sluice items list|show`: the stream units with their
 * versions and what they produced, re-runs of a compute unit over past items (preview, start,
 * cancel), reaction runs, and stored items with their results' history (docs/streams.md).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import type { AppContext } from '../runtime/context.ts';
import { listUnits } from '../streams/listing.ts';
import { listReactionRuns, listReruns } from '../streams/reactions-repo.ts';
import { itemWithHistory, listItems } from '../streams/repo.ts';
import { cancelRerun, previewRerun, startRerun } from '../streams/reruns.ts';
import { actor, withContext } from './context.ts';
import { parseSince } from './files.ts';
import { ago, printJson, printTable } from './output.ts';

const baseDirOf = (ctx: AppContext) => path.dirname(ctx.loaded.files[0] ?? '.');

function limitOf(raw: string | undefined, dflt: number): number {
  const n = raw === undefined ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError(`--limit: expected a whole number from 1 to 10000, got '${raw}'`);
  return n;
}

interface RerunOpts {
  since?: string;
  channel?: string;
  dryRun?: boolean;
  cancel?: string;
  pool?: string;
  json?: boolean;
}

async function rerun(cmd: Command, unit: string | undefined, o: RerunOpts): Promise<void> {
  await withContext(cmd, async (ctx) => {
    if (o.cancel !== undefined) {
      const row = await cancelRerun(ctx.db, o.cancel, actor());
      if (o.json) return printJson(row);
      process.stdout.write(
        `re-run ${row.id} of ${row.unit} cancelled after ${row.done} of ${row.total} items\n`,
      );
      return;
    }
    if (!unit)
      throw new UsageError(
        'give the unit to re-run (or --cancel ID)',
        'e.g. sluice units rerun my-unit --dry-run',
      );
    const opts = { since: o.since ? parseSince(o.since) : undefined, channel: o.channel };
    if (o.dryRun) {
      const p = await previewRerun(ctx.db, ctx.config.streams, unit, opts);
      if (o.json) return printJson(p);
      process.stdout.write(`would re-run ${unit} over ${p.items} item${p.items === 1 ? '' : 's'}\n`);
      return;
    }
    const row = await startRerun(ctx.db, ctx.config.streams, baseDirOf(ctx), {
      ...opts,
      unit,
      actor: actor(),
      pool: o.pool,
    });
    if (o.json) return printJson(row);
    process.stdout.write(
      `re-run ${row.id}: ${unit} ${row.unit_version} (config ${row.config_hash}) over ${row.total} items, queued; cancel with: sluice units rerun --cancel ${row.id}\n`,
    );
  });
}

function registerUnits(program: Command): void {
  const units = program
    .command('units')
    .description('stream units (filter, compute, reaction) and their re-runs');
  units
    .command('list')
    .description('every unit: kind, module, version and config hash, results or runs, the newest')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const rows = await listUnits(ctx.db, ctx.config, baseDirOf(ctx));
        if (o.json) return printJson(rows);
        if (rows.length === 0)
          return void process.stdout.write('no units configured (streams.units, reactions)\n');
        printTable(
          rows.map((r) => ({
            name: r.name,
            kind: r.kind,
            module: r.module,
            version: r.version ?? `? (${r.error})`,
            config: r.config_hash,
            results: r.results,
            items: r.items,
            last: ago(r.last_at),
            schedule: r.schedule ?? '',
          })),
        );
      });
    });
  units
    .command('rerun [unit]')
    .description("run a compute unit's current version again over past items (new results; old ones kept)")
    .option('--since <when>', 'only items received since: a date (2026-11-01) or an age (7d, 24h)')
    .option('--channel <name>', 'only items this channel accepted (default: the channels the unit runs on)')
    .option('--dry-run', 'only count the items it would cover')
    .option('--pool <name>', 'the pool its task runs in (default: default)')
    .option('--cancel <id>', 'cancel a running re-run (results stored so far stay)')
    .option('--json', 'machine-readable output')
    .action((unit: string | undefined, o: RerunOpts, cmd: Command) => rerun(cmd, unit, o));
  registerUnitHistory(units);
}

function registerUnitHistory(units: Command): void {
  units
    .command('reruns')
    .description('re-runs, newest first: unit, version, progress, state')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const rows = await listReruns(db, 100);
        if (o.json) return printJson(rows);
        printTable(
          rows.map((r) => ({
            id: r.id,
            unit: r.unit,
            version: r.unit_version,
            config: r.config_hash,
            done: `${r.done}/${r.total}`,
            status: r.status,
            by: r.requested_by,
            created: ago(r.created_at),
          })),
        );
      });
    });
  units
    .command('runs [reaction]')
    .description('runs of the scheduled reactions, newest first: selected, state, error')
    .option('--limit <n>', 'how many (default 50)')
    .option('--json', 'machine-readable output')
    .action(async (reaction: string | undefined, o: { json?: boolean; limit?: string }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const rows = await listReactionRuns(db, { reaction, limit: limitOf(o.limit, 50) });
        if (o.json) return printJson(rows);
        printTable(
          rows.map((r) => ({
            id: r.id,
            reaction: r.reaction,
            unit: r.unit,
            version: r.unit_version,
            selected: r.selected ?? '-',
            status: r.status,
            error: r.error ?? '',
            at: ago(r.finished_at),
          })),
        );
      });
    });
}

function registerItems(program: Command): void {
  const items = program.command('items').description('stream items with their results (history kept)');
  items
    .command('list')
    .description('stored items, newest first')
    .option('--source <name>', 'only this stream source')
    .option('--channel <name>', 'only items this channel accepted')
    .option('--since <when>', 'received since: a date (2026-11-01) or an age (7d, 24h)')
    .option('--limit <n>', 'how many (default 50)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        o: { source?: string; channel?: string; since?: string; limit?: string; json?: boolean },
        cmd: Command,
      ) => {
        await withContext(cmd, async ({ db }) => {
          const rows = await listItems(db, {
            source: o.source,
            channel: o.channel,
            since: o.since ? parseSince(o.since) : undefined,
            limit: limitOf(o.limit, 50),
          });
          if (o.json) return printJson(rows);
          printTable(
            rows.map((r) => ({
              id: r.id,
              source: r.source,
              seq: r.stream_seq,
              subject: r.subject,
              channels: r.channels.join(','),
              results: r.results,
              rejections: r.rejections,
              received: ago(r.received_at),
            })),
          );
        });
      },
    );
  items
    .command('show <id>')
    .description('one item: payload, channels, rejections and every result row (its history)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        if (!/^\d{1,18}$/.test(id)) throw new UsageError(`item id: expected a number, got '${id}'`);
        const it = await itemWithHistory(db, id);
        if (!it) throw new UsageError(`no item ${id}`, 'list items with `sluice items list`');
        if (o.json) return printJson(it);
        process.stdout.write(
          `item ${it.id}: ${it.source} seq ${it.stream_seq} ${it.subject}, received ${it.received_at.toISOString()}\n`,
        );
        process.stdout.write(
          `channels: ${it.channels.join(', ') || '-'}\npayload: ${JSON.stringify(it.payload)}\n`,
        );
        for (const r of it.rejections)
          process.stdout.write(`rejected by ${r.channel} (${r.unit} ${r.unit_version}): ${r.reason}\n`);
        printTable(
          it.results.map((r) => ({
            unit: r.unit,
            version: r.unit_version,
            config: r.config_hash,
            at: r.at,
            result: JSON.stringify(r.result),
          })),
        );
      });
    });
}

export function registerUnitCommands(program: Command): void {
  registerUnits(program);
  registerItems(program);
}
