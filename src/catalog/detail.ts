/**
 * A sample as its page shows it (CLI `samples show`, API `GET /api/samples/{refcode}`): the sample,
 * the raw data that measured it with their jobs and metrics, its relations and its history.
 */
import type { Queryable } from '../core/db/db.ts';
import { type CatalogFile, catalogFiles } from '../files/catalog-reads.ts';
import { type FileMetricRow, metricsOfFile } from '../metrics/store.ts';
import { type JobRow, jobsOf } from '../process/jobs.ts';
import { type HistoryRow, historyOf } from './history.ts';
import { type EdgeRow, edgesOf, withoutHiddenFiles } from './relations.ts';
import { getSample, type SampleRow } from './samples.ts';

export interface SampleDetail {
  sample: SampleRow;
  files: (CatalogFile & {
    jobs: Pick<JobRow, 'id' | 'settings_name' | 'settings_version' | 'state' | 'outcome' | 'finished_at'>[];
    metrics: FileMetricRow[];
  })[];
  relations: EdgeRow[];
  history: HistoryRow[];
}

export async function sampleDetail(
  q: Queryable,
  refcode: string,
  hidden: readonly string[],
): Promise<SampleDetail> {
  const sample = await getSample(q, refcode, hidden);
  const relations = await withoutHiddenFiles(q, await edgesOf(q, 'sample', refcode), hidden);
  const fileIds = relations
    .filter((e) => e.subject_kind === 'file' && e.relation === 'measured')
    .map((e) => e.subject_id);
  const files = await catalogFiles(q, fileIds, hidden);
  const withRuns = [];
  for (const f of files) {
    const jobs = (await jobsOf(q, f.id)).map((j) => ({
      id: j.id,
      settings_name: j.settings_name,
      settings_version: j.settings_version,
      state: j.state,
      outcome: j.outcome,
      finished_at: j.finished_at,
    }));
    withRuns.push({ ...f, jobs, metrics: await metricsOfFile(q, f.id) });
  }
  return { sample, files: withRuns, relations, history: await historyOf(q, 'sample', [refcode]) };
}
