/**
 * `sluice streams status`: per configured stream source, items and dead letters stored, and the
 * durable consumer's lag, unacknowledged and redelivered messages on the NATS side (docs/streams.md).
 */
import type { Command } from 'commander';
import { streamsStatus } from '../streams/status.ts';
import { withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

export function registerStreamCommands(program: Command): void {
  const streams = program.command('streams').description('event streams consumed from NATS JetStream');
  streams
    .command('status')
    .description('per source: items and dead letters stored; lag, unacknowledged and redelivered messages')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const rows = await streamsStatus(db, config.streams);
        if (opts.json) return printJson(rows);
        if (rows.length === 0) {
          process.stdout.write('no stream sources configured (streams.sources in the config)\n');
          return;
        }
        printTable(
          rows.map((r) => ({
            source: r.source,
            stream: r.stream,
            items: r.items,
            dead_letters: r.dead_letters,
            last_seq: r.last_seq ?? '-',
            lag: r.lag ?? '?',
            unacked: r.unacknowledged ?? '?',
            redelivered: r.redelivered ?? '?',
            nats: r.nats_error ? `unreachable: ${r.nats_error}` : 'ok',
          })),
        );
      });
    });
}
