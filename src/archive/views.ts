/**
 * What the archive API, the file page and Prometheus read about archives (issue #20 interfaces):
 * archives page by page with filters, counts per target and state, the age of the oldest file due
 * for archiving, and one file's archive items and members. Reads only; the write side is repo.ts.
 */
import type { Queryable } from '../core/db/db.ts';
import { fileIdsOfProject } from '../files/archive-candidates.ts';
import {
  type ArchiveRow,
  type ArchiveState,
  archivesOfFile,
  type ItemRow,
  itemsOfFile,
  type MemberRow,
  membersOfFile,
} from './repo.ts';

export const ARCHIVE_STATES: readonly ArchiveState[] = ['writing', 'written', 'archived', 'failed'];

export interface ArchiveFilter {
  target?: string;
  state?: ArchiveState;
  /** Only archives holding members of this project's files. */
  project?: string;
  /** Paging: only archives with an id below this one (the previous page's `next`). */
  before?: string;
  limit: number;
}

/** A page of archives, newest first, and the cursor of the next page (null on the last). */
export async function pageArchives(
  q: Queryable,
  f: ArchiveFilter,
): Promise<{ archives: ArchiveRow[]; next: string | null }> {
  const files = f.project === undefined ? null : await fileIdsOfProject(q, f.project);
  const rows = await q.query<ArchiveRow>(
    `select * from archives a
     where ($1::text is null or a.target = $1) and ($2::text is null or a.state = $2)
       and ($3::text[] is null or exists (
         select 1 from archive_members m where m.archive_id = a.id and m.file_id = any($3)))
       and ($4::bigint is null or a.id < $4)
     order by a.id desc limit $5`,
    [f.target ?? null, f.state ?? null, files, f.before ?? null, f.limit + 1],
  );
  const more = rows.length > f.limit;
  const archives = more ? rows.slice(0, f.limit) : rows;
  return { archives, next: more ? (archives.at(-1)?.id ?? null) : null };
}

/** Per target and state: how many archives and their bytes (tar sizes; members' bytes until written). */
export async function archiveStateCounts(
  q: Queryable,
): Promise<{ target: string; state: ArchiveState; archives: number; bytes: number }[]> {
  const rows = await q.query<{ target: string; state: ArchiveState; archives: string; bytes: string | null }>(
    `select target, state, count(*) as archives, sum(coalesce(size_bytes, member_bytes)) as bytes
     from archives group by target, state order by target, state`,
  );
  return rows.map((r) => ({ ...r, archives: Number(r.archives), bytes: Number(r.bytes ?? 0) }));
}

/**
 * Per target with files due for archiving now (due or being packed, their due time passed): seconds
 * since the oldest of them became due. A target keeping up stays near zero.
 */
export async function pendingAges(
  q: Queryable,
): Promise<{ target: string; files: number; oldest_s: number }[]> {
  const rows = await q.query<{ target: string; files: string; oldest_s: string | null }>(
    `select target, count(*) as files, extract(epoch from now() - min(due_at)) as oldest_s
     from archive_items where state in ('due', 'packing') and due_at <= now() group by target order by target`,
  );
  return rows.map((r) => ({ target: r.target, files: Number(r.files), oldest_s: Number(r.oldest_s ?? 0) }));
}

/** One file's archive state: its item per target and each archive holding it with its members. */
export interface FileArchives {
  items: ItemRow[];
  archives: (ArchiveRow & { file_members: MemberRow[] })[];
}

export async function fileArchives(q: Queryable, fileId: string): Promise<FileArchives> {
  const items = await itemsOfFile(q, fileId);
  const archives = [];
  for (const a of await archivesOfFile(q, fileId))
    archives.push({ ...a, file_members: await membersOfFile(q, a.id, fileId) });
  return { items, archives };
}
