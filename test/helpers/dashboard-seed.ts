/**
 * A small facility for the dashboard tests: two instruments (one online, one offline), files in
 * most statuses, one file with a full timeline, a verified copy with hashes, a finished job with
 * its log tail, and 40 QC runs with four metrics each (one run far outside the precursors band;
 * `ms1_signal` recorded without a value every time, `fwhm_rt` with a unit).
 */
import type { Db } from '../../src/core/db/db.ts';
import { recordEvent } from '../../src/engine/events.ts';
import { insertFile } from './api.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const SHOWCASE = 'QC_HeLa_040.raw';
export const OUTLIER = 'QC_HeLa_033.raw';
export const HASH = '9f2c4e1a7b3d5f60';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

export async function seedDashboard(db: Db): Promise<void> {
  await db.exec(
    `update instruments set online = true, checked_at = now(), free_bytes = 1200000000000, total_bytes = 4000000000000,
       last_new_file_at = now() - interval '5 minutes' where id = 'astral1'`,
  );
  await db.exec(
    `update instruments set online = false, offline_reason = 'watch folder is not reachable: ENOENT', checked_at = now(),
       free_bytes = 50000000000, total_bytes = 2000000000000, last_new_file_at = now() - interval '2 days'
     where id = 'tims1'`,
  );

  // 40 QC runs over 27 days, with metrics; the 33rd has far fewer precursors than the others
  for (let i = 1; i <= 40; i++) {
    const id = `QC_HeLa_${String(i).padStart(3, '0')}.raw`;
    const at = ago((40 - i) * 16 * HOUR + HOUR);
    await insertFile(db, { id, createdAt: at, size: 2_000_000_000 + i * 10_000_000 });
    const precursors = id === OUTLIER ? 2000 : 5000 + ((i * 37) % 11) * 20;
    await db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at, unit)
       values ($1, 'qc', 1, 'precursors', $2, $4, null), ($1, 'qc', 1, 'proteins', $3, $4, null),
              ($1, 'qc', 1, 'fwhm_rt', $5, $4, 'min'), ($1, 'qc', 1, 'ms1_signal', null, $4, null)`,
      [id, precursors, 800 + ((i * 13) % 7) * 5, at, 0.06 + (i % 5) / 1000],
    );
  }

  const others: Parameters<typeof insertFile>[1][] = [
    { id: 'QC_HeLa_041.raw', status: 'error', createdAt: ago(3 * HOUR) },
    { id: 'blank_run_02.raw', status: 'processing_failed', createdAt: ago(4 * HOUR) },
    { id: 'plasma_S12.raw', status: 'processing', createdAt: ago(2 * HOUR) },
    { id: 'acq_in_progress.raw', status: 'acquiring', createdAt: ago(10 * HOUR) },
    {
      id: 'sample_A1.d',
      instrument: 'tims1',
      status: 'backing_up',
      createdAt: ago(DAY),
      size: 8_000_000_000,
    },
    { id: 'sample_A2.d', instrument: 'tims1', status: 'done', createdAt: ago(2 * DAY), size: 7_500_000_000 },
    { id: 'sample_A3.d', instrument: 'tims1', status: 'ignored', createdAt: ago(3 * DAY) },
  ];
  for (const f of others) await insertFile(db, f);
  await db.exec(
    `update files set status_reason = 'backup: the existing backup differs from the source (xxh3 mismatch)',
       updated_at = now() - interval '3 hours' where id = 'QC_HeLa_041.raw'`,
  );
  // unfinished for 10 hours: stuck (the default threshold is 240 minutes)
  await db.exec(`update files set updated_at = now() - interval '10 hours' where id = 'acq_in_progress.raw'`);

  // the showcase file's life, step by step
  const steps: [string | null, string, string][] = [
    [null, 'discovered', 'new file in /data/astral1'],
    ['discovered', 'acquiring', 'size still changing'],
    ['acquiring', 'acquired', 'a newer file appeared'],
    ['acquired', 'backing_up', 'copy to backup'],
    ['backing_up', 'backed_up', 'copy verified (xxh3 matches)'],
    ['backed_up', 'processing', 'job qc v1 submitted'],
    ['processing', 'processed', 'job COMPLETED'],
    ['processed', 'done', 'metrics recorded'],
  ];
  for (const [from, to, reason] of steps)
    await recordEvent(db, {
      subjectType: 'file',
      subjectId: SHOWCASE,
      actor: 'worker:demo',
      from,
      to,
      reason,
    });
  await db.exec(
    `update files set hash_algorithm = 'xxh3', acquired_at = created_at + interval '20 minutes' where id = $1`,
    [SHOWCASE],
  );
  const manifest = {
    algorithm: 'xxh3',
    totalBytes: 2_400_000_000,
    entries: [{ rel: SHOWCASE, size: 2_400_000_000, mtimeMs: Date.now() - DAY, hash: HASH }],
  };
  await db.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, seconds)
     values ($1, 'backup', $2, 'verified', 'xxh3', $3::jsonb, 2400000000, 12.5)`,
    [SHOWCASE, `/backup/astral1/${SHOWCASE}`, JSON.stringify(manifest)],
  );
  await db.exec(
    `insert into jobs (file_id, settings_name, settings_version, key, executor, job_id, state, output_dir,
       exit_code, elapsed_s, log_tail, outcome, submitted_at, finished_at)
     values ($1, 'qc', 1, 'qc-1-QC_HeLa_040', 'slurm', '4242', 'COMPLETED', '/output/qc/QC_HeLa_040', 0, 312,
       $2, 'success', now() - interval '2 hours', now() - interval '1 hour')`,
    [SHOWCASE, 'loading spectra… done\nsearching 12,418 precursors\nwrote stat.tsv\nexit 0'],
  );
  await db.exec(
    `insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir, submitted_at)
     values ('plasma_S12.raw', 'qc', 1, 'qc-1-plasma_S12', 'slurm', 'RUNNING', '/output/qc/plasma_S12', now())`,
  );
}
