/**
 * `sluice streams status`: per configured stream source, items and dead letters stored, and the
 * durable consumer's lag, unacknowledged and redelivered messages on the NATS side; then the outbox
 * of Sluice's own events: pending, oldest pending, last published, the switch (docs/streams.md).
 */
import type { Command } from 'commander';
import { type OutboxOverview, outboxOverview } from '../streams/overview.ts';
import { streamsStatus } from '../streams/status.ts';
import { withContext } from './context.ts';
import { ago, printJson, printTable } from './output.ts';

/** The outbox in a line or two of text. */
export function outboxLines(o: OutboxOverview): string {
  const where = o.configured
    ? `to ${o.stream} (${o.subject_prefix}.file.…)`
    : 'not configured (streams.publish)';
  const state = o.enabled ? 'on' : 'off';
  const oldest =
    o.oldest_pending_seconds === null ? '' : `, oldest ${Math.round(o.oldest_pending_seconds)} s`;
  const last = o.last_published_at ? ago(o.last_published_at) : 'never (none kept)';
  return `outbox: ${state}, ${where}; pending ${o.pending}${oldest}; published ${o.published} kept, last ${last}\n`;
}

export function registerStreamCommands(program: Command): void {
  const streams = program.command('streams').description('event streams consumed from NATS JetStream');
  streams
    .command('status')
    .description(
      'per source: items and dead letters stored; lag, unacknowledged and redelivered messages; then the outbox of events out',
    )
    .option('--json', 'machine-readable output ({sources, outbox})')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const [rows, outbox] = await Promise.all([
          streamsStatus(db, config.streams),
          outboxOverview(db, config.streams),
        ]);
        if (opts.json) return printJson({ sources: rows, outbox });
        if (rows.length === 0)
          process.stdout.write('no stream sources configured (streams.sources in the config)\n');
        else
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
        process.stdout.write(outboxLines(outbox));
      });
    });
}
