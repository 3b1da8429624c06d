/**
 * Config schema: `retrieval` (issue #20): where archived sets are retrieved to, how long a retrieved
 * copy is kept and how often a cold archive's restore is looked at (the restore's tier and days are
 * the S3 archive target's `restore_tier` / `restore_days`, schema/archive.ts), and how much room a
 * download must leave in the area. Consumed by
 * src/archive/retrieve*.ts; documented in docs/configuration.md.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { num, section, str } from './building-blocks.ts';

export const retrievalSchema = section(
  z.strictObject({
    /** The retrieval area (default `<data_dir>/retrievals`): one folder per retrieved archive. */
    area: str('a directory path').optional(),
    /** A retrieved copy is removed this many hours after it was verified (a new request extends it). */
    expire_after_hours: num({ gt: 0 }, 'hours').default(168),
    /** First wait before asking the store whether a restore finished; it doubles up to `poll_max_seconds`. */
    poll_seconds: num({ gt: 0 }, 'seconds').default(60),
    poll_max_seconds: num({ gt: 0 }, 'seconds').default(1800),
    /** Kept free in the area after a download: a download that would not leave it waits for room. */
    min_free_mb: num({ gte: 0 }, 'MiB').default(1024),
    /** A download waiting this long for room in the area fails (with the bytes needed and free). */
    space_wait_hours: num({ gt: 0 }, 'hours').default(24),
  }),
);

export type RetrievalConfig = z.output<typeof retrievalSchema>;

/** The retrieval area of a config. */
export function retrievalArea(c: { data_dir: string; retrieval: RetrievalConfig }): string {
  return c.retrieval.area ?? join(c.data_dir, 'retrievals');
}
