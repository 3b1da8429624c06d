/**
 * Config schema: `archive.fixity` (issue #20) — scheduled re-reads of filesystem and warm S3
 * archives, every member re-hashed (src/archive/fixity.ts); cold classes are verified at write time
 * and on retrieval only.
 */
import { z } from 'zod';
import { bool, int, num, section } from './building-blocks.ts';

export const archiveFixitySchema = section(
  z.strictObject({
    enabled: bool().default(true),
    /** How often a fixity run starts. */
    interval_minutes: int(1, 10_080).default(60),
    /** An archive is re-read once its last check (or verification) is older than this. */
    cycle_days: num({ gte: 0, lte: 3650 }, 'days').default(90),
    /** Bytes of archives one run reads at most (MiB; one archive larger than it is still read alone). */
    max_mb_per_run: int(1).default(10_240),
  }),
);

export type ArchiveFixityConfig = z.output<typeof archiveFixitySchema>;
