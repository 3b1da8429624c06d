/**
 * Operator actions on jobs: cancelling the active jobs of a job row or a file.
 */
import type { Config } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { cancelTasks } from '../engine/enqueue.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { enqueueTask, Kind } from '../tasks/catalogue.ts';
import type { JobRow } from './jobs.ts';
import { settleFile } from './settle.ts';

/**
 * Cancels the active jobs named by a job row id or a file id. A job not yet at the scheduler is
 * cancelled at once; a submitted one is cancelled by a worker through the executor, and the next
 * poll records it as CANCELLED (`processing_failed`, "cancelled by …").
 */
export async function cancelJobs(db: Db, config: Config, target: string, actor: string): Promise<JobRow[]> {
  return db.tx(async (tx) => {
    const jobs = await tx.query<JobRow>(
      `select * from jobs where (id::text = $1 or file_id = $1) and state in ('new', 'submitting', 'PENDING', 'RUNNING') order by id for update`,
      [target],
    );
    if (jobs.length === 0) {
      const any = await tx.maybeOne(`select 1 from jobs where id::text = $1 or file_id = $1`, [target]);
      throw new UsageError(
        any
          ? `no active job for '${target}' (its jobs have finished)`
          : `no job or file with jobs named '${target}'`,
        'list jobs with `sluice jobs list`',
      );
    }
    for (const j of jobs) {
      await tx.exec('update jobs set cancel_requested_by = $2, updated_at = now() where id = $1', [
        j.id,
        actor,
      ]);
      if (j.job_id) {
        await enqueueTask(tx, Kind.processCancel, j.id, {});
        await addToTimeline(
          tx,
          j.file_id,
          actor,
          `cancel of ${j.settings_name} job ${j.job_id} requested by ${actor}`,
        );
      } else {
        await cancelTasks(tx, { subject: j.id, kind: Kind.processSubmit });
        await tx.exec(
          `update jobs set state = 'CANCELLED', outcome = 'known_error', reason = $2, finished_at = now(), updated_at = now() where id = $1`,
          [j.id, `cancelled by ${actor} before it was submitted`],
        );
        await settleFile(tx, j.file_id, config);
      }
    }
    return jobs;
  });
}
