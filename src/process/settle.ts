/**
 * Settling a file once every job of it is final: processed → done, or processing_failed / error
 * (the decision is `settlement` in outcome.ts; this reads the jobs and writes the transitions).
 */
import type { Config } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { transition } from '../files/lifecycle.ts';
import type { JobRow } from './jobs.ts';
import { settlement } from './outcome.ts';

const ACTOR = 'process';

/** Once every job of a file is final: processed → done, or processing_failed / error. */
export async function settleFile(tx: Tx, fileId: string, _config: Config): Promise<void> {
  const jobs = await tx.query<JobRow>(
    `select distinct on (settings_name, settings_version) * from jobs where file_id = $1 order by settings_name, settings_version, attempt desc`,
    [fileId],
  );
  const s = settlement(jobs);
  if (!s) return;
  if (s.to === 'done') {
    await transition(tx, fileId, 'processed', {
      actor: ACTOR,
      from: ['processing'],
      reason: s.reason,
    });
    await transition(tx, fileId, 'done', {
      actor: ACTOR,
      from: ['processed'],
      reason: 'processed; metrics recorded',
    });
    return;
  }
  await transition(tx, fileId, s.to, {
    actor: ACTOR,
    from: ['processing'],
    reason: s.reason,
  });
}
