/**
 * Config schema: the upkeep of archived sets (issue #20), under `archive:` —
 *   `fixity`: scheduled re-reads of filesystem and warm S3 archives, every member re-hashed
 *     (src/archive/fixity.ts); cold classes are verified at write time and on retrieval only;
 *   `backup_retention`: optional release of the backup copy of a set once every named archive target
 *     holds a verified archive of it (src/archive/retention.ts).
 */
import { z } from 'zod';
import { bool, int, num, section, strList } from './building-blocks.ts';

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

/** No `section`: absent means no retention (its `require` has no default). */
export const backupRetentionSchema = z.strictObject(
  {
    /** Days after the set's archives all verified before its backup copy may be removed. */
    after_days: num({ gte: 0, lte: 36_500 }, 'days').default(30),
    /** Archive targets that must each hold a verified archive of the set (at least one). */
    require: strList('an archive target name').min(1, {
      error: 'a list of at least one archive target that must hold a verified archive',
    }),
    /** How often the retention pass runs. */
    interval_minutes: int(1, 10_080).default(60),
  },
  { error: 'a mapping with require (archive target names) and after_days' },
);

export type ArchiveFixityConfig = z.output<typeof archiveFixitySchema>;
export type BackupRetentionConfig = z.output<typeof backupRetentionSchema>;
