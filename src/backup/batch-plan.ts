/**
 * Which acquired files are backed up together (task `backup.batch`, batch-task.ts) and which one per
 * task (`backup.copy`, backup-task.ts): a pure decision from the files' sizes, made by the flow when a
 * scan reports acquisitions (src/pipeline/flow.ts).
 *
 * Why batches: a small file's backup is mostly bookkeeping. One task per file cost ~15 statements,
 * a commit (a WAL flush) and a claim per file, about 13 ms of CPU against the ~1 ms of the copy, read
 * back and fsync themselves (bench/intake.ts). A batch is one claim, one target check and one
 * commit for up to BATCH_MAX_FILES files; copy, fsync and read-back stay per file.
 *
 * Why not every file: a large file's copy takes seconds and its progress and stall watchdog are its
 * own; batching it would hold the small ones behind it. Files of BATCH_MAX_BYTES or more, and sets
 * too small to be worth a batch (fewer than BATCH_MIN_FILES), get a task of their own as before.
 */

/** A file of at least this many bytes is never batched (its copy is long enough to be a task of its own). */
export const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** At most this many files per batch: bounds the batch's final transaction and what a retry redoes. */
export const BATCH_MAX_FILES = 64;
/** Below this many small files a batch saves too little: they get a task each. */
export const BATCH_MIN_FILES = 4;

export interface BackupPlan {
  /** Files backed up one per `backup.copy` task. */
  single: string[];
  /** Groups backed up one group per `backup.batch` task. */
  batches: string[][];
}

/**
 * Split `ids` (with their sizes in bytes, same order; an unknown size is never batched) into batches
 * and single tasks. The small files are spread over at least `lanes` batches (the copy pool's size)
 * while each batch keeps BATCH_MIN_FILES or more, so a scan's acquisitions use the whole pool; and
 * over at least ceil(n / BATCH_MAX_FILES) batches. Order is kept within each group.
 */
export function planBackups(
  ids: readonly string[],
  sizes: readonly (number | undefined)[],
  lanes: number,
): BackupPlan {
  const single: string[] = [];
  const small: string[] = [];
  ids.forEach((id, i) => {
    const size = sizes[i];
    if (size !== undefined && Number.isFinite(size) && size >= 0 && size < BATCH_MAX_BYTES) small.push(id);
    else single.push(id);
  });
  if (small.length < BATCH_MIN_FILES) return { single: [...single, ...small], batches: [] };
  const byLanes = Math.min(Math.max(1, lanes), Math.floor(small.length / BATCH_MIN_FILES));
  const count = Math.max(Math.ceil(small.length / BATCH_MAX_FILES), byLanes);
  const per = Math.ceil(small.length / count);
  const batches: string[][] = [];
  for (let i = 0; i < small.length; i += per) batches.push(small.slice(i, i + per));
  return { single, batches };
}
