/**
 * Task `archive.pack` (pool `archive.write`, subject: an archive target's name, one at a time per
 * target): packs the target's due items into archives, one after the other, each
 *   1. planned: due items taken (oldest first, up to `archive_size_mb`), an `archives` row in state
 *      `writing` and the items `packing`, in one transaction;
 *   2. written: packed from the verified backup copies (pack.ts, hashes re-verified) straight to the
 *      target (fs-target.ts / s3-target.ts), then recorded `written` with its members;
 *   3. verified: read back from the target, every member re-hashed at its offset (verify.ts); only
 *      then `archived`, with a line on each file's timeline. A mismatch writes it again (up to
 *      MAX_WRITES), then fails it: its items are due again, nothing of it counted.
 * Crash safety: an archive is adopted by the next attempt in the state it was left: `writing` is
 * written again from the start (an S3 multipart upload remembered in the payload is aborted first),
 * `written` is verified. A backup found differing (or gone) takes only that file out, due again later.
 * A policy with `what: [.., outputs, metrics]` adds the file's outputs and metrics (pack-extras.ts);
 * while its processing has not ended the file is taken out and waits (due again after `pass_minutes`).
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../core/config/index.ts';
import type { ArchiveTarget } from '../core/config/schema/archive.ts';
import type { Db, Tx } from '../core/db/db.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { releasedBackup } from '../files/releases.ts';
import { getFile, verifiedCopy } from '../files/repo.ts';
import { defineHandler, Kind, type KindContext } from '../tasks/catalogue.ts';
import { removeCoveredTars } from './condemned.ts';
import { PackCorruptError, type PackSource } from './pack.ts';
import { extrasOf, waitingOf } from './pack-extras.ts';
import { startPacking as enqueuePacking } from './pass.ts';
import { takeForArchive } from './policy.ts';
import {
  type ArchiveRow,
  createArchive,
  deferItem,
  getArchive,
  type ItemRow,
  itemsOfArchive,
  lockDueItems,
  markArchived,
  markFailed,
  membersOf,
  postponeItem,
  recordWritten,
  restartWrite,
  startPacking,
  targetsWithDueItems,
  unfinishedArchives,
} from './repo.ts';
import { toColdClass } from './s3-target.ts';
import { locationOf, readArchive, removeArchive, writeArchive } from './targets.ts';
import { verifyArchive } from './verify.ts';

const ACTOR = 'archive';
/** Writes of one archive before it is given up (each one read back and not matching). */
export const MAX_WRITES = 3;
/** A file taken out of an archive (backup gone or differing) is looked at again after this. */
const DEFER_MS = 3_600_000;

type Ctx = KindContext<typeof Kind.archivePack>;

export interface ArchivePackDeps {
  config: Config;
}

function extraBytes(x: NonNullable<PackSource['extras']>[number]): number {
  return x.kind === 'output' ? x.size : Buffer.byteLength(x.text);
}

/** The key of a new archive: a date folder and a name no other archive has. */
export function newKey(now: Date): string {
  const d = now.toISOString();
  return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/sluice-${d.slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('hex')}.tar`;
}

/**
 * The due items that may be packed now: those whose policy asks for outputs while the file's
 * processing has not ended are postponed by `pass_minutes` (with the reason) and left out.
 */
async function readyItems(tx: Tx, config: Config, due: readonly ItemRow[]): Promise<ItemRow[]> {
  const out: ItemRow[] = [];
  for (const i of due) {
    const what = config.archive.policies.find((p) => p.name === i.policy)?.what ?? ['raw'];
    const wait = await waitingOf(tx, i.file_id, what);
    if (!wait) out.push(i);
    else
      await postponeItem(
        tx,
        i.file_id,
        i.target,
        `waiting: ${wait}`,
        new Date(Date.now() + config.archive.pass_minutes * 60_000),
      );
  }
  return out;
}

/** The archive to work on: one left unfinished on this target, or a new one from due items. */
async function nextArchive(db: Db, config: Config, t: ArchiveTarget): Promise<ArchiveRow | undefined> {
  const left = (await unfinishedArchives(db)).find((a) => a.target === t.name);
  if (left) return left;
  const id = await db.tx(async (tx) => {
    const due = await readyItems(tx, config, await lockDueItems(tx, t.name, 10_000));
    const take = takeForArchive(due, t.archive_size_mb * 1024 * 1024);
    if (take.length === 0) return undefined;
    const key = newKey(new Date());
    const id = await createArchive(tx, {
      target: t.name,
      targetKind: t.type,
      key,
      location: locationOf(t, key),
      storageClass: t.type === 's3' ? t.storage_class : null,
    });
    await startPacking(
      tx,
      id,
      t.name,
      take.map((i) => i.file_id),
    );
    return id;
  });
  return id ? getArchive(db, id) : undefined;
}

/**
 * The pack sources of an archive's items (with outputs and metrics when their policy asks); items
 * without a verified backup are taken out, and so are those whose processing has not ended while
 * their policy asks for outputs. `notes`: what was left out of a file (for its timeline).
 */
async function sourcesOf(
  ctx: Ctx,
  config: Config,
  a: ArchiveRow,
): Promise<{ sources: PackSource[]; notes: Map<string, string[]> }> {
  const out: PackSource[] = [];
  const notes = new Map<string, string[]>();
  const takeOut = (fileId: string, why: string, ms: number) =>
    ctx.db.tx((tx) => deferItem(tx, fileId, a.target, why, new Date(Date.now() + ms)));
  for (const item of await itemsOfArchive(ctx.db, a.id)) {
    const file = await getFile(ctx.db, item.file_id);
    const copy = file && (await verifiedCopy(ctx.db, item.file_id, 'backup'));
    if (!file || !copy) {
      // a released backup (retention) does not come back by itself: look again a day later, not hourly
      const released = await releasedBackup(ctx.db, item.file_id);
      const why = released
        ? `the backup was released on ${released.released_at.toISOString()} (backup retention): nothing to archive from — the set is only in other archives or on the instrument`
        : 'no verified backup copy to archive from';
      await takeOut(item.file_id, why, released ? 24 * DEFER_MS : DEFER_MS);
      continue;
    }
    const what = config.archive.policies.find((p) => p.name === item.policy)?.what ?? ['raw'];
    const extras = await extrasOf(ctx.db, file, what);
    if (extras.wait) {
      await takeOut(item.file_id, `waiting: ${extras.wait}`, config.archive.pass_minutes * 60_000);
      continue;
    }
    if (extras.notes.length > 0) notes.set(file.id, extras.notes);
    out.push({
      fileId: file.id,
      instrumentId: file.instrument_id,
      kind: file.kind,
      location: copy.location,
      manifest: copy.manifest,
      extras: extras.extras,
    });
  }
  return { sources: out, notes };
}

/** Writes an archive (state `writing`) and records it `written`; false when nothing was left to write. */
async function write(ctx: Ctx, config: Config, t: ArchiveTarget, a: ArchiveRow): Promise<boolean> {
  for (;;) {
    const { sources, notes } = await sourcesOf(ctx, config, a);
    if (sources.length === 0) {
      await ctx.db.tx((tx) => markFailed(tx, a.id, 'nothing left to archive (every file was taken out)'));
      return false;
    }
    const bytes = sources.reduce(
      (s, x) => s + x.manifest.totalBytes + (x.extras ?? []).reduce((e, m) => e + extraBytes(m), 0),
      0,
    );
    ctx.progress(`writing archive ${a.id} to ${a.location}`);
    try {
      const r = await writeArchive(ctx, t, a.key, sources, bytes);
      await ctx.db.tx(async (tx) => {
        await recordWritten(tx, a.id, {
          sizeBytes: r.bytes,
          sha256: null,
          manifestSha256: r.manifestSha256,
          members: r.members,
        });
        for (const [f, lines] of notes)
          await addToTimeline(tx, f, ACTOR, `archive ${a.id} to ${a.target}: ${lines.join('; ')}`, {
            archive: a.id,
          });
      });
      return true;
    } catch (err) {
      if (!(err instanceof PackCorruptError)) throw err;
      ctx.log.warn(
        { archive: a.id, fileId: err.fileId, err: err.message },
        'backup differs; left out of the archive',
      );
      await ctx.db.tx(async (tx) => {
        await deferItem(tx, err.fileId, a.target, err.message, new Date(Date.now() + DEFER_MS));
        await addToTimeline(tx, err.fileId, ACTOR, `not archived to ${a.target}: ${err.message}`, {
          code: err.code,
        });
      });
    }
  }
}

/** Reads a written archive back and verifies it; records the outcome. */
async function verify(ctx: Ctx, config: Config, t: ArchiveTarget, a: ArchiveRow): Promise<void> {
  ctx.progress(`verifying archive ${a.id} at ${a.location}`);
  const members = await membersOf(ctx.db, a.id);
  const r = await verifyArchive(
    readArchive(t, a.key, ctx.signal),
    {
      members: members.map((m) => ({
        path: m.path,
        size: Number(m.size),
        sha256: m.sha256,
        dataOffset: Number(m.data_offset),
      })),
      sizeBytes: Number(a.size_bytes),
      manifestSha256: a.manifest_sha256 ?? '',
    },
    { onBytes: () => ctx.progress() },
  );
  if (r.ok) {
    if (t.type === 's3' && (await toColdClass(t, a.key)))
      ctx.log.info({ archive: a.id }, `moved to ${t.storage_class}`);
    const files = [...new Set(members.map((m) => m.file_id))];
    await ctx.db.tx(async (tx) => {
      await markArchived(tx, a.id);
      for (const f of files) {
        const n = members.filter((m) => m.file_id === f).length;
        await addToTimeline(
          tx,
          f,
          ACTOR,
          `archived to ${a.target} (${a.location}): ${n} member(s) read back and verified (sha256)`,
          { archive: a.id, target: a.target },
        );
      }
    });
    ctx.log.info({ archive: a.id, target: a.target, files: files.length, bytes: r.bytes }, 'archived');
    // a corrupt archive's sets may all be verified here again now: its tar can go (condemned.ts)
    await removeCoveredTars(ctx.db, config, ctx.log, t.name).catch((err: unknown) =>
      ctx.log.warn({ target: t.name, err: String(err) }, 'could not remove corrupt archive tars'),
    );
    return;
  }
  const why = `read back from ${a.location} it did not match: ${r.problems.slice(0, 3).join('; ')}`;
  ctx.log.warn({ archive: a.id, problems: r.problems.slice(0, 10) }, 'archive did not verify');
  await removeArchive(t, a.key).catch(() => {});
  await ctx.db.tx((tx) =>
    a.attempts >= MAX_WRITES ? markFailed(tx, a.id, why) : restartWrite(tx, a.id, why),
  );
}

/** Works through the target's archives until none is due (or the task is cancelled). */
async function run(ctx: Ctx, deps: ArchivePackDeps): Promise<void> {
  const t = deps.config.archive.targets.find((x) => x.name === ctx.task.subject);
  if (!t) {
    ctx.log.info({ target: ctx.task.subject }, 'archive target no longer configured; nothing to pack');
    return;
  }
  for (;;) {
    if (ctx.signal.aborted) return;
    const a = await nextArchive(ctx.db, deps.config, t);
    if (!a) return;
    if (a.state === 'writing') {
      if (!(await write(ctx, deps.config, t, a))) continue;
    }
    const now = await getArchive(ctx.db, a.id);
    if (now?.state === 'written') await verify(ctx, deps.config, t, now);
  }
}

export function archivePackHandler(deps: ArchivePackDeps): TaskHandlerDef {
  return defineHandler(Kind.archivePack, {
    stallMs: deps.config.worker.stall_seconds * 1000,
    async run(ctx) {
      await run(ctx, deps);
      await ctx.complete();
      // An item that fell due while this task ran found it running, and its enqueue was a no-op
      // (one pack task per target): look once more now that this one is done, so it does not wait
      // for the next archive pass.
      const target = ctx.task.subject ?? '';
      if ((await targetsWithDueItems(ctx.db)).includes(target))
        await enqueuePacking(ctx.db, deps.config, [target]);
    },
  });
}
