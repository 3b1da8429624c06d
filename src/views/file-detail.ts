/**
 * One file's full record, as `sluice files show` and `GET /api/files/{id}` both show it: the file,
 * its copies, its processing jobs, its metrics and its timeline. Each part is read through the
 * table's owner (files repo, process jobs, metrics store, event log); this module only gathers
 * them. `src/views/` holds such read-only views: they sit above the stages and below the CLI and
 * the API, because their parts come from several stages (a files module reading jobs would make
 * files and process import each other).
 */
import { archivesOfFile } from '../archive/repo.ts';
import type { Queryable } from '../core/db/db.ts';
import { type EventRow, listEvents } from '../engine/events.ts';
import { type CopyRow, copiesOf, type FileRow, getFile } from '../files/repo.ts';
import { type FileMetricRow, metricsOfFile } from '../metrics/store.ts';
import { type JobRow, jobsOf } from '../process/jobs.ts';

/** Where a released backup's data is: the verified archives holding the file now. */
export interface HeldBy {
  archive: string;
  target: string;
  verified_at: Date | null;
}

/** A copy as shown; a `released` one says which verified archives hold the file now. */
export type ShownCopy = CopyRow & { held_by?: HeldBy[] };

export interface FileDetail {
  file: FileRow;
  copies: ShownCopy[];
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
  if (!copies.some((c) => c.state === 'released')) return { file, copies, jobs, metrics, events };
  const held: HeldBy[] = (await archivesOfFile(q, id))
    .filter((a) => a.state === 'archived')
    .map((a) => ({ archive: a.id, target: a.target, verified_at: a.verified_at }));
  const shown = copies.map((c) => (c.state === 'released' ? { ...c, held_by: held } : c));
  return { file, copies: shown, jobs, metrics, events };
}

/** Pure: how a copy's state reads; a released one names the archives holding the file now. */
export function copyStateText(c: ShownCopy): string {
  if (c.state !== 'released') return c.state;
  const when = c.released_at ? ` ${c.released_at.toISOString().slice(0, 10)}` : '';
  const held = c.held_by ?? [];
  if (held.length === 0) return `released${when} (no verified archive holds it now: see the alerts)`;
  const where = held.map(
    (h) => `${h.archive} on ${h.target}, verified ${h.verified_at?.toISOString() ?? '?'}`,
  );
  return `released${when} (archived in ${where.join('; ')})`;
}
