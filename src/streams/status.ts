/**
 * What `sluice streams status` shows per configured source: items and dead letters stored (the
 * database), and the durable consumer's state on the NATS side (messages not delivered yet = lag,
 * delivered but not acknowledged, redelivered). NATS is asked with a short timeout: an unreachable
 * server is reported, not waited for.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import { streamCounts } from './repo.ts';

export interface SourceStatus {
  source: string;
  stream: string;
  items: number;
  dead_letters: number;
  last_seq: number | null;
  /** From NATS; undefined with `nats_error` when it could not be asked. */
  lag?: number;
  unacknowledged?: number;
  redelivered?: number;
  nats_error?: string;
}

export async function streamsStatus(q: Queryable, streams: StreamsConfig): Promise<SourceStatus[]> {
  const counts = new Map((await streamCounts(q)).map((c) => [c.source, c]));
  const out: SourceStatus[] = [];
  for (const [name, src] of Object.entries(streams.sources)) {
    const c = counts.get(name);
    const row: SourceStatus = {
      source: name,
      stream: src.stream,
      items: c?.items ?? 0,
      dead_letters: c?.dead_letters ?? 0,
      last_seq: c?.last_seq ?? null,
    };
    try {
      const nc = await connect({ servers: src.servers, timeout: 3000, reconnect: false });
      try {
        const info = await (await jetstreamManager(nc, { timeout: 3000 })).consumers.info(
          src.stream,
          src.durable,
        );
        Object.assign(row, {
          lag: info.num_pending,
          unacknowledged: info.num_ack_pending,
          redelivered: info.num_redelivered,
        });
      } finally {
        await nc.close();
      }
    } catch (err) {
      row.nats_error = errorMessage(err);
    }
    out.push(row);
  }
  return out;
}
