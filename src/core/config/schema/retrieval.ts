/**
 * Config schema: `retrieval` (issue #20): where archived sets are retrieved to, how long a retrieved
 * copy is kept, how a cold archive is restored and how often its restore is looked at. Consumed by
 * src/archive/retrieve*.ts; documented in docs/configuration.md.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { int, num, section, str } from './building-blocks.ts';

export const retrievalSchema = section(
  z.strictObject({
    /** The retrieval area (default `<data_dir>/retrievals`): one folder per retrieved archive. */
    area: str('a directory path').optional(),
    /** A retrieved copy is removed this many hours after it was verified (a new request extends it). */
    expire_after_hours: num({ gt: 0 }, 'hours').default(168),
    /** S3 RestoreObject `Days`: how long the store keeps a restored cold object readable. */
    restore_days: int(1, 365).default(2),
    /** S3 restore tier when the archive target names none: Standard, Bulk or Expedited. */
    restore_tier: z
      .enum(['Standard', 'Bulk', 'Expedited'], { error: 'Standard, Bulk or Expedited' })
      .default('Standard'),
    /** First wait before asking the store whether a restore finished; it doubles up to `poll_max_seconds`. */
    poll_seconds: num({ gt: 0 }, 'seconds').default(60),
    poll_max_seconds: num({ gt: 0 }, 'seconds').default(1800),
  }),
);

export type RetrievalConfig = z.output<typeof retrievalSchema>;

/** The retrieval area of a config. */
export function retrievalArea(c: { data_dir: string; retrieval: RetrievalConfig }): string {
  return c.retrieval.area ?? join(c.data_dir, 'retrievals');
}
