/**
 * The archive repository: every statement on the tables of migration 0021 (src/archive/ owns them).
 *
 *   archive_items   (file_id, target) → policy, state due|packing|archived, due_at, bytes (the file's
 *                   size when chosen), archive_id (packing: the archive being written; archived: the
 *                   verified archive holding it), attempts + last_error (archives that did not verify).
 *   archives        id, target, target_kind filesystem|s3, key (object key / path under the target's
 *                   root), location (full path or s3://bucket/key), storage_class, state
 *                   writing|written|archived|failed|corrupt (a fixity audit
 *                   or retrieval found it differing: fixity.ts), reason, attempts, members, member_bytes,
 *                   size_bytes + sha256 (of the tar), manifest_sha256, created/written/verified_at,
 *                   last_fixity_at/_ok.
 *   archive_members (archive_id, path) → file_id, rel (as in the copy's manifest; for outputs, in the
 *                   job's output folder), size, sha256, header_offset (first header block), data_offset
 *                   (content), mode, mtime, kind raw|output|metrics and job_row_id (outputs; 0036).
 *   archives.tar_removed_at: a corrupt archive's tar removed from the target (condemned.ts; 0036).
 *
 * Only an archive in state `archived` counts: it was read back from its target and every member
 * re-hashed against the recorded sha256 (src/archive/verify.ts). Retrieval (h31) reads archives and
 * archive_members through `archivesOfFile` / `membersOf` / `getArchive`.
 */
import type { Queryable } from '../core/db/db.ts';

export type ArchiveState = 'writing' | 'written' | 'archived' | 'failed' | 'corrupt';
export type ItemState = 'due' | 'packing' | 'archived';
/** What a member is: the raw set's, a finished job's output, or the file's metrics (pack-extras.ts). */
export type MemberKind = 'raw' | 'output' | 'metrics';

export interface ArchiveRow {
  id: string;
  target: string;
  target_kind: 'filesystem' | 's3';
  key: string;
  location: string;
  storage_class: string | null;
  state: ArchiveState;
  reason: string | null;
  attempts: number;
  members: number;
  member_bytes: string;
  size_bytes: string | null;
  sha256: string | null;
  manifest_sha256: string | null;
  created_at: Date;
  written_at: Date | null;
  verified_at: Date | null;
  last_fixity_at: Date | null;
  last_fixity_ok: boolean | null;
  tar_removed_at: Date | null;
}

export interface MemberRow {
  archive_id: string;
  file_id: string;
  path: string;
  rel: string;
  size: string;
  sha256: string;
  header_offset: string;
  data_offset: string;
  mode: number;
  mtime: Date;
  kind: MemberKind;
  job_row_id: string | null;
}

/** A member as the packer records it (numbers, not yet rows). */
export interface NewMember {
  fileId: string;
  path: string;
  rel: string;
  size: number;
  sha256: string;
  headerOffset: number;
  dataOffset: number;
  mode: number;
  mtime: Date;
  /** Absent: `raw`. */
  kind?: MemberKind;
  jobRowId?: string | null;
}

export interface ItemRow {
  file_id: string;
  target: string;
  policy: string;
  state: ItemState;
  due_at: Date;
  bytes: string;
  archive_id: string | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

/** A file a policy chose for a target. */
export interface NewItem {
  fileId: string;
  target: string;
  policy: string;
  dueAt: Date;
  bytes: number;
}

/** Adds items (one that exists for the file and target is kept as it is); returns how many were new. */
export async function addItems(q: Queryable, items: readonly NewItem[]): Promise<number> {
  if (items.length === 0) return 0;
  return q.exec(
    `insert into archive_items (file_id, target, policy, due_at, bytes, state)
     select * , 'due' from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
     on conflict (file_id, target) do nothing`,
    [
      items.map((i) => i.fileId),
      items.map((i) => i.target),
      items.map((i) => i.policy),
      items.map((i) => i.dueAt),
      items.map((i) => i.bytes),
    ],
  );
}

/** The targets with items due now (for the pass that starts pack tasks). */
export async function targetsWithDueItems(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ target: string }>(
    `select distinct target from archive_items where state = 'due' and due_at <= now()`,
  );
  return rows.map((r) => r.target);
}

/**
 * Due items of `target`, oldest due first, locked for this transaction (others skip them), up to
 * `limit` rows; the caller picks how many fit in one archive (pack-plan.ts).
 */
export async function lockDueItems(q: Queryable, target: string, limit: number): Promise<ItemRow[]> {
  return q.query<ItemRow>(
    `select * from archive_items where target = $1 and state = 'due' and due_at <= now()
     order by due_at, file_id limit $2 for update skip locked`,
    [target, limit],
  );
}

/** A new archive in state `writing`; returns its id. */
export async function createArchive(
  q: Queryable,
  a: {
    target: string;
    targetKind: ArchiveRow['target_kind'];
    key: string;
    location: string;
    storageClass: string | null;
  },
): Promise<string> {
  const r = await q.one<{ id: string }>(
    `insert into archives (target, target_kind, key, location, storage_class, state, attempts)
     values ($1, $2, $3, $4, $5, 'writing', 1) returning id`,
    [a.target, a.targetKind, a.key, a.location, a.storageClass],
  );
  return r.id;
}

/** Puts the items of `fileIds` on `target` into the archive being written. */
export async function startPacking(
  q: Queryable,
  archiveId: string,
  target: string,
  fileIds: readonly string[],
): Promise<void> {
  await q.exec(
    `update archive_items set state = 'packing', archive_id = $1, updated_at = now()
     where target = $2 and file_id = any($3) and state = 'due'`,
    [archiveId, target, fileIds],
  );
}

export async function getArchive(q: Queryable, id: string): Promise<ArchiveRow | undefined> {
  return q.maybeOne<ArchiveRow>('select * from archives where id = $1', [id]);
}

/** The items an archive holds (or is being written with), in file id order. */
export async function itemsOfArchive(q: Queryable, archiveId: string): Promise<ItemRow[]> {
  return q.query<ItemRow>('select * from archive_items where archive_id = $1 order by file_id', [archiveId]);
}

/** Records a complete write: the tar's size and hash, and its members; state `written`. */
export async function recordWritten(
  q: Queryable,
  id: string,
  w: { sizeBytes: number; sha256: string | null; manifestSha256: string; members: readonly NewMember[] },
): Promise<void> {
  const m = w.members;
  await q.exec('delete from archive_members where archive_id = $1', [id]);
  await q.exec(
    `insert into archive_members
       (archive_id, file_id, path, rel, size, sha256, header_offset, data_offset, mode, mtime, kind,
        job_row_id)
     select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
       $7::bigint[], $8::bigint[], $9::int[], $10::timestamptz[], $11::text[], $12::bigint[])`,
    [
      id,
      m.map((x) => x.fileId),
      m.map((x) => x.path),
      m.map((x) => x.rel),
      m.map((x) => x.size),
      m.map((x) => x.sha256),
      m.map((x) => x.headerOffset),
      m.map((x) => x.dataOffset),
      m.map((x) => x.mode),
      m.map((x) => x.mtime),
      m.map((x) => x.kind ?? 'raw'),
      m.map((x) => x.jobRowId ?? null),
    ],
  );
  await q.exec(
    `update archives set state = 'written', written_at = now(), size_bytes = $2, sha256 = $3,
       manifest_sha256 = $4, members = $5, member_bytes = $6, reason = null
     where id = $1`,
    [id, w.sizeBytes, w.sha256, w.manifestSha256, m.length, m.reduce((s, x) => s + x.size, 0)],
  );
}

/** A new write of the archive (the last one was cut short or did not verify): members forgotten. */
export async function restartWrite(q: Queryable, id: string, reason: string | null): Promise<void> {
  await q.exec('delete from archive_members where archive_id = $1', [id]);
  await q.exec(
    `update archives set state = 'writing', attempts = attempts + 1, reason = coalesce($2, reason),
       written_at = null, size_bytes = null, sha256 = null, manifest_sha256 = null
     where id = $1`,
    [id, reason],
  );
}

/** The archive read back and verified: it counts, and so do its items. */
export async function markArchived(q: Queryable, id: string): Promise<void> {
  await q.exec(
    `update archives set state = 'archived', verified_at = now(), reason = null where id = $1 and state = 'written'`,
    [id],
  );
  await q.exec(
    `update archive_items set state = 'archived', archived_at = now(), updated_at = now(), last_error = null
     where archive_id = $1`,
    [id],
  );
}

/** The archive given up: its items are due again (with the reason), nothing of it counts. */
export async function markFailed(q: Queryable, id: string, reason: string): Promise<void> {
  await q.exec(`update archives set state = 'failed', reason = $2 where id = $1`, [id, reason]);
  await q.exec(
    `update archive_items set state = 'due', archive_id = null, attempts = attempts + 1,
       last_error = $2, updated_at = now()
     where archive_id = $1 and state = 'packing'`,
    [id, reason],
  );
}

/** Records a fixity re-read of an archived archive (write-time only for cold classes). */
export async function setArchiveFixity(q: Queryable, id: string, ok: boolean): Promise<void> {
  await q.exec('update archives set last_fixity_at = now(), last_fixity_ok = $2 where id = $1', [id, ok]);
}

/** Members of an archive in tar order. */
export async function membersOf(q: Queryable, archiveId: string): Promise<MemberRow[]> {
  return q.query<MemberRow>('select * from archive_members where archive_id = $1 order by header_offset', [
    archiveId,
  ]);
}

/** Members of one file in one archive, in tar order. */
export async function membersOfFile(q: Queryable, archiveId: string, fileId: string): Promise<MemberRow[]> {
  return q.query<MemberRow>(
    'select * from archive_members where archive_id = $1 and file_id = $2 order by header_offset',
    [archiveId, fileId],
  );
}

/** The archives that hold members of `fileId` (any state), newest first. */
export async function archivesOfFile(q: Queryable, fileId: string): Promise<ArchiveRow[]> {
  return q.query<ArchiveRow>(
    `select a.* from archives a where a.id in (select archive_id from archive_members where file_id = $1)
       or a.id in (select archive_id from archive_items where file_id = $1 and archive_id is not null)
     order by a.id desc`,
    [fileId],
  );
}

/** The file's items (one per archive target a policy chose). */
export async function itemsOfFile(q: Queryable, fileId: string): Promise<ItemRow[]> {
  return q.query<ItemRow>('select * from archive_items where file_id = $1 order by target', [fileId]);
}

/** Is `fileId` archived (in a verified archive) on `target`? The archive when it is. */
export async function archivedOn(
  q: Queryable,
  fileId: string,
  target: string,
): Promise<ArchiveRow | undefined> {
  return q.maybeOne<ArchiveRow>(
    `select a.* from archive_items i join archives a on a.id = i.archive_id
     where i.file_id = $1 and i.target = $2 and i.state = 'archived' and a.state = 'archived'`,
    [fileId, target],
  );
}

/** Archives, newest first, optionally of one target and/or state. */
export async function listArchives(
  q: Queryable,
  f: { target?: string; state?: ArchiveState; limit: number },
): Promise<ArchiveRow[]> {
  return q.query<ArchiveRow>(
    `select * from archives where ($1::text is null or target = $1) and ($2::text is null or state = $2)
     order by id desc limit $3`,
    [f.target ?? null, f.state ?? null, f.limit],
  );
}

/** Archives left in `writing` or `written` (a pack task resumes them; the pass looks for orphans). */
export async function unfinishedArchives(q: Queryable): Promise<ArchiveRow[]> {
  return q.query<ArchiveRow>(`select * from archives where state in ('writing', 'written') order by id`);
}

/** Per target: verified archives, their bytes, and the newest verification (for Prometheus). */
export async function archiveTotals(
  q: Queryable,
): Promise<{ target: string; archives: number; bytes: number; newest: Date | null }[]> {
  const rows = await q.query<{ target: string; archives: string; bytes: string | null; newest: Date | null }>(
    `select target, count(*) as archives, sum(size_bytes) as bytes, max(verified_at) as newest
     from archives where state = 'archived' group by target order by target`,
  );
  return rows.map((r) => ({
    target: r.target,
    archives: Number(r.archives),
    bytes: Number(r.bytes ?? 0),
    newest: r.newest,
  }));
}

/** Per target and state: items and bytes (for `sluice archive list` and Prometheus). */
export async function itemCounts(
  q: Queryable,
): Promise<{ target: string; state: ItemState; items: number; bytes: number; oldest_due: Date | null }[]> {
  const rows = await q.query<{
    target: string;
    state: ItemState;
    items: string;
    bytes: string;
    oldest_due: Date | null;
  }>(
    `select target, state, count(*) as items, sum(bytes) as bytes, min(due_at) as oldest_due
     from archive_items group by target, state order by target, state`,
  );
  return rows.map((r) => ({ ...r, items: Number(r.items), bytes: Number(r.bytes) }));
}

/**
 * Takes a file out of the archive being written (its backup is gone or differs): due again at
 * `dueAt`, with the reason.
 */
export async function deferItem(
  q: Queryable,
  fileId: string,
  target: string,
  error: string,
  dueAt: Date,
): Promise<void> {
  await q.exec(
    `update archive_items set state = 'due', archive_id = null, attempts = attempts + 1, last_error = $3,
       due_at = $4, updated_at = now()
     where file_id = $1 and target = $2 and state = 'packing'`,
    [fileId, target, error, dueAt],
  );
}

/** A due item that must wait (its processing has not ended): due again at `dueAt`, with the reason. */
export async function postponeItem(
  q: Queryable,
  fileId: string,
  target: string,
  why: string,
  dueAt: Date,
): Promise<void> {
  await q.exec(
    `update archive_items set due_at = $4, last_error = $3, updated_at = now()
     where file_id = $1 and target = $2 and state = 'due'`,
    [fileId, target, why, dueAt],
  );
}
