/**
 * Task `archive.retrieve` (pool `archive.read`; subject: the fetch id): one restore and one download
 * of one archive into the retrieval area, serving every request that joined the fetch.
 *
 * - A cold S3 archive is restored first: RestoreObject, then the task puts itself back (`again`) and
 *   asks the store (HeadObject) at growing intervals until the restore is ready (`restoring`).
 * - The download (`downloading`) streams the tar into `<area>/.partial-<fetch id>`, writing and
 *   hashing each member once and checking it against the sha256 recorded when it was archived
 *   (retrieve-extract.ts); a mismatch fails the attempt and the engine retries from the target.
 * - Only when every recorded member matched is the folder renamed to `<area>/<fetch id>` and the fetch
 *   marked `verified` with its expiry, in the transaction that completes the task. A killed attempt
 *   leaves a `.partial-` folder (removed by the next attempt) or a complete folder not yet recorded
 *   (replaced by the next attempt): nothing counts as retrieved before it verified.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { retrievalArea } from '../core/config/schema/retrieval.ts';
import { PermanentError, SluiceError } from '../core/errors.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { freeSpace } from '../storage/disk.ts';
import { fsyncDir } from '../storage/fsutil.ts';
import { defineHandler, Kind, type KindContext } from '../tasks/catalogue.ts';

type Ctx = KindContext<typeof Kind.archiveRetrieve>;

import { condemnArchive } from './fixity.ts';
import { type ArchiveRow, getArchive, membersOf, setArchiveFixity } from './repo.ts';
import { type ExpectedMember, extractVerified } from './retrieve-extract.ts';
import {
  type FetchRow,
  getFetch,
  markDownloading,
  markFetchFailed,
  markRestoring,
  markVerified,
  noteFetchTrouble,
  recordProgress,
} from './retrieve-repo.ts';
import { nextFetchStep, restorePollMs, roomProblem } from './retrieve-rules.ts';
import { askRestore, isCold, openArchive, restoreStatus } from './retrieve-source.ts';

const PROGRESS_MS = 1000;

export function partialFolder(area: string, fetchId: string): string {
  return path.join(area, `.partial-${fetchId}`);
}

export function fetchFolder(area: string, fetchId: string): string {
  return path.join(area, fetchId);
}

/**
 * Room for the download in the area (its members' bytes plus `min_free_mb` kept free): true when
 * there is; otherwise the task waits (`again`, the reason as the fetch's why) and, after
 * `space_wait_hours`, fails with the reason.
 */
async function roomFor(ctx: Ctx, config: Config, fetch: FetchRow, archive: ArchiveRow): Promise<boolean> {
  const area = retrievalArea(config);
  const { freeBytes } = await freeSpace(area);
  const reserve = Math.round(config.retrieval.min_free_mb * 1024 * 1024);
  const problem = roomProblem(area, Number(archive.member_bytes), freeBytes, reserve);
  if (!problem) return true;
  const since = ctx.payload.space_since ?? Date.now();
  if (Date.now() - since >= config.retrieval.space_wait_hours * 3_600_000)
    throw new PermanentError(
      'retrieve.no_space',
      `${problem}; waited ${config.retrieval.space_wait_hours} h for room`,
      'free space in the retrieval area (or lower retrieval.min_free_mb) and ask again',
    );
  ctx.log.warn({ fetch: fetch.id, archive: archive.id }, problem);
  await ctx.again(
    config.retrieval.poll_seconds * 1000,
    (tx) => noteFetchTrouble(tx, fetch.id, `waiting for room: ${problem}`),
    { ...ctx.payload, space_since: since },
  );
  return false;
}

async function download(ctx: Ctx, config: Config, fetch: FetchRow, archive: ArchiveRow): Promise<void> {
  const area = retrievalArea(config);
  const partial = partialFolder(area, fetch.id);
  const final = fetchFolder(area, fetch.id);
  // a killed attempt's partial folder first: its bytes are not in use
  await mkdir(area, { recursive: true });
  await rm(partial, { recursive: true, force: true });
  if (!(await roomFor(ctx, config, fetch, archive))) return;
  await ctx.db.tx(async (tx) => {
    await markDownloading(tx, fetch.id);
    await ctx.remember({}, tx);
  });
  const expected = new Map<string, ExpectedMember>(
    (await membersOf(ctx.db, archive.id)).map((m) => [
      m.path,
      { name: m.path, size: Number(m.size), sha256: m.sha256 },
    ]),
  );
  let bytes = 0;
  let members = 0;
  let last = Date.now();
  const extracting = extractVerified(await openArchive(config, archive), partial, expected, {
    onBytes: (n) => {
      bytes += n;
      ctx.progress(`retrieving archive ${archive.id} (${archive.location})`);
      if (Date.now() - last >= PROGRESS_MS) {
        last = Date.now();
        void recordProgress(ctx.db, fetch.id, bytes, members).catch(() => {});
      }
    },
    onMember: () => {
      members++;
    },
  });
  // a mismatch leaves nothing behind (a killed attempt's folder is removed by the next one)
  const result = await extracting.catch(async (err: unknown) => {
    await rm(partial, { recursive: true, force: true });
    throw err;
  });
  ctx.signal.throwIfAborted();
  // a folder under the final name from a killed attempt was never recorded as verified: replace it
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  await fsyncDir(area);
  await ctx.complete(async (tx) => {
    await markVerified(tx, fetch.id, {
      path: final,
      bytes: result.bytes,
      members: result.members,
      expireAfterHours: config.retrieval.expire_after_hours,
    });
    // a retrieval read every member back against its hash: it counts as the archive's fixity check
    await setArchiveFixity(tx, archive.id, true);
  });
  ctx.log.info(
    { fetch: fetch.id, archive: archive.id, ...result },
    'archive retrieved and every member verified',
  );
}

async function runFetch(ctx: Ctx, config: Config): Promise<void> {
  const fetch = await getFetch(ctx.db, ctx.task.subject ?? '');
  if (!fetch) throw new PermanentError('retrieve.no_fetch', `no retrieval fetch ${ctx.task.subject}`);
  const archive = await getArchive(ctx.db, fetch.archive_id);
  if (archive?.state !== 'archived')
    throw new PermanentError(
      'retrieve.not_archived',
      `archive ${fetch.archive_id} is not a verified archive`,
    );
  const cold = isCold(archive);
  const restore = cold && fetch.state !== 'verified' ? await restoreStatus(config, archive) : undefined;
  const step = nextFetchStep(fetch.state, cold, restore);
  const polls = ctx.payload.polls ?? 0;
  const wait = restorePollMs(
    polls,
    config.retrieval.poll_seconds * 1000,
    config.retrieval.poll_max_seconds * 1000,
  );
  switch (step.do) {
    case 'done':
      return ctx.complete();
    case 'ask-restore':
      await askRestore(config, archive);
      ctx.log.info(
        { fetch: fetch.id, archive: archive.location },
        'asked the store to restore a cold archive',
      );
      return ctx.again(wait, (tx) => markRestoring(tx, fetch.id), { polls: polls + 1 });
    case 'wait-restore':
      return ctx.again(wait, (tx) => markRestoring(tx, fetch.id), { polls: polls + 1 });
    case 'download':
      return download(ctx, config, fetch, archive);
  }
}

export function retrieveHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.archiveRetrieve, {
    leaseMs: 120_000,
    stallMs: 600_000,
    run: (ctx) => runFetch(ctx, deps.config),
    async onRetry(tx, task, error) {
      await noteFetchTrouble(
        tx,
        task.subject ?? '',
        `retrying: ${(error as Error).message ?? String(error)}`,
      );
    },
    async onFailed(tx, task, error) {
      await markFetchFailed(tx, task.subject ?? '', (error as Error).message ?? String(error));
      const fetch = await getFetch(tx, task.subject ?? '');
      if (fetch && error instanceof SluiceError && error.code === 'retrieve.mismatch') {
        await setArchiveFixity(tx, fetch.archive_id, false);
        // every attempt read it differing: the archive no longer counts and is written anew (fixity.ts)
        const a = await getArchive(tx, fetch.archive_id);
        if (a) await condemnArchive(tx, deps.config, a, 'retrieval found it differing', [error.message]);
      }
    },
  });
}
