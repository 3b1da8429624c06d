/**
 * Config schema of Sluice's own events out (`streams.publish`, issue #21): the outbox publisher's NATS
 * servers, stream and subject prefix. Off when absent. Consumed by src/streams/outbox.ts; documented in
 * docs/configuration.md and docs/streams.md.
 */
import { z } from 'zod';
import { int, num, str, strList } from './building-blocks.ts';

export const publishSchema = z.strictObject({
  servers: strList('a NATS server URL, e.g. nats://127.0.0.1:4222').min(1, {
    error: 'at least one NATS server URL, e.g. [nats://127.0.0.1:4222]',
  }),
  /** Events go to `<subject_prefix>.file.<instrument>.<to state or timeline>`. */
  subject_prefix: z
    .string({ error: 'a NATS subject prefix such as sluice or site.sluice' })
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, {
      error: 'a NATS subject prefix: tokens of letters, digits, - and _ separated by dots (no * or >)',
    })
    .default('sluice'),
  /** The JetStream stream that stores them; created with `<subject_prefix>.>` when missing. */
  stream: str('a JetStream stream name').default('SLUICE_EVENTS'),
  /** The created stream's duplicate window: a retry after a crash within it is no duplicate. */
  duplicate_window_seconds: num({ gte: 1 }, 'seconds').default(3600),
  /** Rows published per round (one transaction, one advisory lock). */
  batch: int(1, 10_000).default(500),
  /** Pause between rounds when the outbox is empty. */
  interval_seconds: num({ gt: 0 }, 'seconds').default(0.5),
  /** Published rows are deleted after this long. */
  keep_published_hours: num({ gte: 0 }, 'hours').default(24),
});
export type PublishConfig = z.output<typeof publishSchema>;
