/**
 * Retrieval requests (issue #20), shared by `sluice retrieve`, the API and the dashboard: which
 * archive serves each requested set, and the request recorded against that archive's one live fetch
 * (joined while it restores or downloads, its expiry extended once verified, a new fetch and its
 * `archive.retrieve` task otherwise), each archive in its own transaction.
 */
import type { Config } from '../core/config/index.ts';
import type { Db, Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { listFiles, requireFile } from '../files/repo.ts';
import { enqueueTask, Kind } from '../tasks/catalogue.ts';
import { type ArchiveRow, archivesOfFile, membersOfFile } from './repo.ts';
import {
  extendExpiry,
  insertFetch,
  insertRetrieval,
  liveFetchForUpdate,
  type RetrievalRow,
  retrievalsByIds,
} from './retrieve-repo.ts';
import { expiryOf, joinOrStart } from './retrieve-rules.ts';
import { isCold } from './retrieve-source.ts';

export interface RetrieveRequest {
  files?: string[];
  project?: string;
  since?: Date;
  /** Only archives on this target. */
  target?: string;
  /** Who asks (a user name, `cli:<os user>`). */
  by: string;
  /** Projects hidden from who asks (the API's caller): their files are left out of a project/since request. */
  hidden?: readonly string[];
}

export interface RetrieveResult {
  retrievals: RetrievalRow[];
  /** Requested files with no verified archive (on `target` when given). */
  notArchived: string[];
}

/** Most files a `--project`/`--since` request may name at once. */
export const MAX_FILES = 10_000;

/** The verified archive to read a file from: a filesystem one first, then warm S3, then cold. */
export function pickArchive(archives: readonly ArchiveRow[], target?: string): ArchiveRow | undefined {
  const ok = archives.filter((a) => a.state === 'archived' && (!target || a.target === target));
  const rank = (a: ArchiveRow) => (a.target_kind === 'filesystem' ? 0 : isCold(a) ? 2 : 1);
  return [...ok].sort((a, b) => rank(a) - rank(b) || Number(b.id) - Number(a.id))[0];
}

async function filesOf(db: Queryable, req: RetrieveRequest): Promise<string[]> {
  if (req.files?.length) {
    for (const f of req.files) await requireFile(db, f);
    return [...new Set(req.files)];
  }
  if (!req.project && !req.since)
    throw new UsageError('nothing to retrieve', 'name files, or --project P and/or --since DATE');
  const rows = await listFiles(db, { project: req.project, since: req.since, limit: MAX_FILES + 1 });
  if (rows.length > MAX_FILES)
    throw new UsageError(
      `more than ${MAX_FILES} files match`,
      'narrow the request with --since or ask for a project at a time',
    );
  const hidden = req.hidden ?? [];
  return rows.filter((r) => !hidden.includes(r.project_id)).map((r) => r.id);
}

/** Records the request of `fileIds` (all in `archive`) against the archive's live fetch. */
async function requestFromArchive(
  db: Db,
  config: Config,
  archive: ArchiveRow,
  fileIds: string[],
  by: string,
): Promise<string[]> {
  return db.tx(async (tx) => {
    let live = await liveFetchForUpdate(tx, archive.id);
    const step = joinOrStart(live);
    if (step === 'start') {
      const created = await insertFetch(tx, archive.id, archive.member_bytes, by);
      if (created) {
        await enqueueTask(tx, Kind.archiveRetrieve, created.id, {});
        live = created;
      } else live = await liveFetchForUpdate(tx, archive.id);
    } else if (step === 'extend' && live) {
      await extendExpiry(tx, live.id, expiryOf(new Date(), config.retrieval.expire_after_hours));
    }
    if (!live) throw new Error(`archive ${archive.id}: no live fetch after starting one`);
    const ids: string[] = [];
    for (const f of fileIds) {
      const m = (await membersOfFile(tx, archive.id, f)).find((x) => x.kind === 'raw');
      const prefix = m ? m.path.slice(0, Math.max(0, m.path.length - m.rel.length - 1)) : '';
      ids.push(await insertRetrieval(tx, { fileId: f, fetchId: live.id, prefix, by }));
    }
    return ids;
  });
}

/** Records a retrieval request; returns the requests made (with their fetch's state). */
export async function requestRetrieval(
  db: Db,
  config: Config,
  req: RetrieveRequest,
): Promise<RetrieveResult> {
  const files = await filesOf(db, req);
  const byArchive = new Map<string, { archive: ArchiveRow; files: string[] }>();
  const notArchived: string[] = [];
  for (const f of files) {
    const a = pickArchive(await archivesOfFile(db, f), req.target);
    if (!a) {
      notArchived.push(f);
      continue;
    }
    const entry = byArchive.get(a.id) ?? { archive: a, files: [] };
    entry.files.push(f);
    byArchive.set(a.id, entry);
  }
  if (byArchive.size === 0)
    throw new UsageError(
      `none of the ${files.length} requested file(s) is in a verified archive${req.target ? ` on target '${req.target}'` : ''}`,
      'see `sluice archive list`; only archives read back and verified can be retrieved',
    );
  const ids: string[] = [];
  for (const { archive, files: fs } of byArchive.values())
    ids.push(...(await requestFromArchive(db, config, archive, fs, req.by)));
  return { retrievals: await retrievalsByIds(db, ids), notArchived };
}
