/**
 * One file's full record, as `sluice files show` and `GET /api/files/{id}` both show it: the file,
 * its copies, its processing jobs, its metrics and its timeline. Each part is read through the
 * table's owner (files repo, process jobs, metrics store, event log); this module only gathers
 * them. `src/views/` holds such read-only views: they sit above the stages and below the CLI and
 * the API, because their parts come from several stages (a files module reading jobs would make
 * files and process import each other).
 */
import type { Queryable } from '../core/db/db.ts';
import { type EventRow, listEvents } from '../engine/events.ts';
import { type CopyRow, copiesOf, type FileRow, getFile } from '../files/repo.ts';
import { type FileMetricRow, metricsOfFile } from '../metrics/store.ts';
import { type JobRow, jobsOf } from '../process/jobs.ts';

export interface FileDetail {
  file: FileRow;
  copies: CopyRow[];
  jobs: JobRow[];
  metrics: FileMetricRow[];
  events: EventRow[];
}

/** The file's detail; undefined when there is no file with this id. */
export async function fileDetail(q: Queryable, id: string): Promise<FileDetail | undefined> {
  const file = await getFile(q, id);
  if (!file) return undefined;
  const [copies, jobs, metrics, events] = await Promise.all([
    copiesOf(q, id),
    jobsOf(q, id),
    metricsOfFile(q, id),
    listEvents(q, 'file', id),
  ]);
  return { file, copies, jobs, metrics, events };
}
