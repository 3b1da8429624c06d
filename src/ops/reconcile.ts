/**
 * What catch-up did (`sluice reconcile`): per instrument, the files whose backup was found in place
 * and associated after verifying its hashes, the jobs recorded from an existing output (their
 * manifest named the job's key and settings hash) instead of being run, what was copied and run by
 * this instance, the files that stopped because something found in place did not match, and what
 * is still under way. Catch-up itself needs no command: the normal scan finds the files, the backup
 * and processing steps associate what matches (docs/fallback.md). Reads only.
 */
import type { Queryable } from '../core/db/db.ts';
import { TERMINAL } from '../files/lifecycle.ts';
import { filesInErrorLike } from '../files/stats.ts';

export interface ReconcileFile {
  id: string;
  status: string;
  reason: string | null;
}

export interface InstrumentReconcile {
  instrument: string;
  files: number;
  backups: { associated: number; copied: number };
  jobs: { associated: number; run: number };
  /** Files that stopped on a mismatch with what was found in place (backup or output). */
  stopped: ReconcileFile[];
  /** Files whose work is still under way. */
  pending: number;
  associatedFiles: string[];
}

/** Errors that mean "something was found in place and did not match". */
const MISMATCH = ['%differs from the source%', '%was not associated%'];

/** The report for `instruments` (the config's), or only `opts.instrument`. */
export async function reconcileReport(
  q: Queryable,
  instruments: string[],
  opts: { instrument?: string } = {},
): Promise<InstrumentReconcile[]> {
  const rows = await q.query<{
    instrument: string;
    files: string;
    backups_associated: string;
    backups_copied: string;
    jobs_associated: string;
    jobs_run: string;
    pending: string;
  }>(
    `select i.id as instrument,
       (select count(*) from files f where f.instrument_id = i.id) as files,
       (select count(*) from copies c join files f on f.id = c.file_id
         where f.instrument_id = i.id and c.target = 'backup' and c.state = 'verified' and c.associated) as backups_associated,
       (select count(*) from copies c join files f on f.id = c.file_id
         where f.instrument_id = i.id and c.target = 'backup' and c.state = 'verified' and not c.associated) as backups_copied,
       (select count(*) from jobs j join files f on f.id = j.file_id where f.instrument_id = i.id and j.associated) as jobs_associated,
       (select count(*) from jobs j join files f on f.id = j.file_id
         where f.instrument_id = i.id and not j.associated and j.job_id is not null) as jobs_run,
       (select count(*) from files f where f.instrument_id = i.id and not (f.status = any($2::text[]))) as pending
     from unnest($1::text[]) as i(id) order by i.id`,
    [opts.instrument ? [opts.instrument] : instruments, [...TERMINAL]],
  );
  const stopped = await filesInErrorLike(q, MISMATCH, opts.instrument ?? null);
  const associated = await q.query<{ id: string; instrument_id: string }>(
    `select f.id, f.instrument_id from files f
     where ($1::text is null or f.instrument_id = $1)
       and (exists (select 1 from copies c where c.file_id = f.id and c.state = 'verified' and c.associated)
         or exists (select 1 from jobs j where j.file_id = f.id and j.associated))
     order by f.instrument_id, f.id`,
    [opts.instrument ?? null],
  );
  return rows.map((r) => ({
    instrument: r.instrument,
    files: Number(r.files),
    backups: { associated: Number(r.backups_associated), copied: Number(r.backups_copied) },
    jobs: { associated: Number(r.jobs_associated), run: Number(r.jobs_run) },
    stopped: stopped
      .filter((s) => s.instrument_id === r.instrument)
      .map(({ id, status, reason }) => ({ id, status, reason })),
    pending: Number(r.pending),
    associatedFiles: associated.filter((a) => a.instrument_id === r.instrument).map((a) => a.id),
  }));
}
