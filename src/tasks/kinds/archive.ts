/**
 * Task kinds of one stage: Archive and retrieval. Their names and specs (payload, pool, attempts,
 * de-duplication); src/tasks/catalogue.ts joins every stage's into `Kind` and `TASKS`. A new kind of
 * this stage goes here (a name and a spec), then a handler in src/runtime/handlers.ts.
 */

import { z } from 'zod';
import { type KindSpec, scheduled } from './spec.ts';

export const ArchiveKind = {
  archivePack: 'archive.pack',
  archivePass: 'archive.pass',
  archiveRetrieve: 'archive.retrieve',
  archiveRetrievalSweep: 'archive.retrieval_sweep',
  archiveFixity: 'archive.fixity',
  archiveBackupRetention: 'archive.backup_retention',
} as const;
const K = ArchiveKind;

export const ARCHIVE_TASKS = {
  /**
   * Packs, writes and verifies the archives of one archive target, one after the other (subject:
   * the target's name; archive/pack-task.ts). One per target at a time; an archive left unfinished
   * by a killed attempt is taken up again first.
   */
  [K.archivePack]: {
    payload: z.object({
      /** Remembered: the archive being written and the multipart upload started for it (s3). */
      archiveId: z.string().optional(),
      uploads: z.array(z.object({ bucket: z.string(), key: z.string(), uploadId: z.string() })).optional(),
    }),
    pool: 'archive.write',
    maxAttempts: 20,
    dedupe: (target) => `archive:${target}`,
  },
  /** The archive policy pass (archive/pass.ts): files due after processing or N days; pack tasks. */
  [K.archivePass]: { payload: z.object(scheduled), pool: 'default' },
  /**
   * One fetch of an archive into the retrieval area (subject: the fetch id; archive/retrieve-task.ts):
   * restore a cold object (polling with `again`), download, extract, verify every member. One task
   * per fetch however many requests it serves.
   */
  [K.archiveRetrieve]: {
    payload: z.object({
      /** Restore polls so far (the wait between them grows). */
      polls: z.number().optional(),
      /** Since when (ms since the epoch) the download waits for room in the retrieval area. */
      space_since: z.number().optional(),
    }),
    pool: 'archive.read',
    maxAttempts: 5,
    dedupe: (fetch) => `retrieve:${fetch}`,
  },
  /** Removes retrieved copies past their expiry (archive/retrieve-sweep.ts; scheduled). */
  [K.archiveRetrievalSweep]: { payload: z.object(scheduled), pool: 'default' },
  /** A fixity run over archived sets: re-reads the archives due (archive/fixity.ts; scheduled). */
  [K.archiveFixity]: { payload: z.object(scheduled), pool: 'archive.read' },
  /** Releases backups of sets held by verified archives, finishes interrupted removals (archive/retention.ts; scheduled). */
  [K.archiveBackupRetention]: { payload: z.object(scheduled), pool: 'default' },
} as const satisfies Record<(typeof K)[keyof typeof K], KindSpec>;
