/**
 * Task `backup.s3` (pool `copy.<target>`, subject: the file id, payload: the target's name): the
 * verified copy of one file to an S3 target, made from its verified filesystem copy after the flow
 * saw `backed_up` (src/pipeline/flow.ts) or the target's upkeep found it missing (upkeep.ts).
 *
 * Each member of the raw data becomes one object under the file's place (`placeFor`), uploaded with
 * per-part MD5s and its ETag checked (upload.ts), then read back in full and hashed against the
 * hashes recorded with the filesystem copy (verify.ts) — while the next member is uploaded; a
 * manifest object, written after every member was read back, lists the members. The
 * copy row is written only after all of that, in the transaction that completes the task.
 *
 * An object already at a key is never overwritten: one that carries this file's id and recorded hash
 * is kept and read back (an earlier attempt killed after its upload), any other stops the copy for
 * good (`backup.s3_object_differs`) — unless the operator accepted overwriting the file's differing
 * filesystem backup (payload `acceptOverwrite`): then it is kept aside (aside.ts), as the filesystem
 * backup was, and the new content copied. After the target's copy was marked `corrupt` (fixity, the
 * remover), this file's objects written before that copy was verified are uploaded again over (their
 * content is on the verified filesystem copy), not kept: kept, every attempt would fail its read-back. Crash points: killed mid-upload → the lease expires, the next
 * attempt aborts the multipart upload left behind (its id was remembered in the task's payload
 * before any part was sent; the store need not list uploads) and sends the member again; killed after the
 * objects were complete but before the copy row → the next attempt finds them, reads them back and
 * records the copy. A store that cannot be reached fails the attempt and the engine retries it with
 * backoff; meanwhile the instrument keeps its data when `cleanup.require` names the target.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../core/config/index.ts';
import { type S3TargetConfig, s3Targets } from '../../core/config/schema/backup-targets.ts';
import type { Tx } from '../../core/db/db.ts';
import { errorMessage, PermanentError, SluiceError } from '../../core/errors.ts';
import type { TaskHandlerDef, TaskRow } from '../../engine/types.ts';
import { insertVerifiedCopy, retireVerifiedCopies } from '../../files/copies.ts';
import { addToTimeline } from '../../files/lifecycle.ts';
import { type CopyRow, type FileRow, getFile, latestCorruptBackup, verifiedCopy } from '../../files/repo.ts';
import { noteTakeoverOnSubject } from '../../files/takeover.ts';
import type { ManifestEntry, SourceSpec } from '../../storage/raw-data.ts';
import { defineHandler, Kind } from '../../tasks/catalogue.ts';
import { sourcePath } from '../manifest.ts';
import { keepAside } from './aside.ts';
import { clientFor } from './clients.ts';
import {
  bucketFor,
  MANIFEST_OBJECT,
  manifestObject,
  memberKey,
  objectMetadata,
  placeFor,
  type S3Manifest,
  type S3Object,
  s3Location,
} from './keys.ts';
import { abortUpload, uploadMember } from './upload.ts';
import { isMissingObject, readBackS3Copy } from './verify.ts';

const ACTOR = 'backup';

export interface S3CopyDeps {
  config: Config;
}

/** The target of this name in the config (undefined: removed from the config since). */
export function s3Target(config: Config, name: string): S3TargetConfig | undefined {
  return s3Targets(config.backup.targets).find((t) => t.name === name);
}

/** Does the copy on the target hold what the filesystem copy holds (same members and hashes)? */
export function sameContent(a: CopyRow['manifest'], b: CopyRow['manifest']): boolean {
  const key = (m: CopyRow['manifest']) =>
    JSON.stringify([m.algorithm, m.entries.map((e) => [e.rel, e.size, e.hash])]);
  return key(a) === key(b);
}

interface Job {
  client: S3Client;
  target: S3TargetConfig;
  file: FileRow;
  fs: CopyRow;
  bucket: string;
  place: string;
  signal: AbortSignal | undefined;
  progress: () => void;
  /** Remembers a started multipart upload in the task's payload (aborted by the next attempt). */
  uploadStarted: (up: RememberedUpload) => Promise<void>;
  /** The operator accepted overwriting the filesystem backup: an object in the way is kept aside. */
  acceptOverwrite: boolean;
  /** When the task was enqueued: the name an object kept aside gets (aside.ts). */
  stamp: Date;
  /** Objects kept aside by this attempt (for the timeline). */
  kept: string[];
  /**
   * The target's copy was found damaged (fixity, remover) when it was last verified at this time:
   * this file's objects written until then are the damaged ones and are uploaded again (their
   * content is verified on the filesystem copy) instead of being kept and failing the read-back.
   */
  damagedUpTo?: Date;
  /** Damaged objects uploaded again by this attempt (for the timeline). */
  redone: string[];
}

export interface RememberedUpload {
  bucket: string;
  key: string;
  uploadId: string;
}

/**
 * How far the store's clock (LastModified) may run ahead of the database's (`verified_at`) for an
 * object of the damaged copy to be recognised as such. An object a later attempt wrote within this
 * margin is uploaded once more: wasted work, never a damaged object kept.
 */
const STORE_CLOCK_SKEW_MS = 10 * 60_000;

/**
 * What is at `key` now: nothing, or an object an earlier attempt of this copy left (this file's id
 * and the member's recorded hash), whose ETag is returned. Anything else is refused, not overwritten.
 */
async function existingObject(j: Job, key: string, e: ManifestEntry): Promise<string | undefined> {
  let head: Awaited<ReturnType<typeof headObject>>;
  try {
    head = await headObject(j, key);
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
  const meta = objectMetadata(j.file.id, j.fs.manifest.algorithm, e.hash);
  const ours =
    Object.entries(meta).every(([k, v]) => head.Metadata?.[k] === v) && head.ContentLength === e.size;
  const damaged =
    j.damagedUpTo &&
    head.LastModified &&
    head.LastModified.getTime() <= j.damagedUpTo.getTime() + STORE_CLOCK_SKEW_MS;
  if (ours && damaged) {
    j.redone.push(`s3://${j.bucket}/${key}`);
    return undefined; // ours, found damaged: uploaded again over it
  }
  if (ours && head.ETag) return head.ETag.replace(/"/g, '');
  if (j.acceptOverwrite) {
    const aside = await keepAside({
      client: j.client,
      bucket: j.bucket,
      key,
      size: head.ContentLength ?? 0,
      etag: (head.ETag ?? '').replace(/"/g, ''),
      stamp: j.stamp,
      storageClass: j.target.storage_class,
      signal: j.signal,
    });
    j.kept.push(`s3://${j.bucket}/${aside}`);
    return undefined; // the new content is written at the key
  }
  throw new PermanentError(
    'backup.s3_object_differs',
    `s3://${j.bucket}/${key} already holds a different object (${head.ContentLength} bytes, file id ${head.Metadata?.['sluice-file-id'] ?? 'none'}); it was not overwritten`,
    `check what the object is; move it away (or delete it) in the store if it is not needed, then the target's upkeep copies ${j.file.id} again`,
  );
}

function headObject(j: Job, key: string) {
  return j.client.send(new HeadObjectCommand({ Bucket: j.bucket, Key: key }), { abortSignal: j.signal });
}

/**
 * The members' read-back, one member after another, while the next member is uploaded (a `.d`
 * folder or a Sciex set: the read-back of member N overlaps the upload of N + 1). `done` waits for
 * all and gives the differences; a store that cannot be reached rejects it (nothing concluded).
 */
class ReadBackInTurn {
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly problems: string[] = [];

  constructor(private readonly j: Job) {}

  add(e: ManifestEntry, o: S3Object): void {
    const { j } = this;
    const one: S3Manifest = {
      ...j.fs.manifest,
      totalBytes: e.size,
      entries: [e],
      s3: { bucket: j.bucket, place: j.place, objects: [o], storageClass: j.target.storage_class },
    };
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        this.problems.push(...(await readBackS3Copy(j.client, one, { signal: j.signal })).problems);
      } catch (err) {
        this.failure = err;
      }
    });
  }

  async done(): Promise<string[]> {
    await this.chain;
    if (this.failure) throw this.failure;
    return this.problems;
  }
}

/**
 * Every member uploaded (or found from an earlier attempt) and read back: the objects, how many
 * were found, and what the read-back found different.
 */
async function putMembers(j: Job): Promise<{ objects: S3Object[]; found: number; problems: string[] }> {
  const objects: S3Object[] = [];
  let found = 0;
  const back = new ReadBackInTurn(j);
  const spec: SourceSpec =
    j.file.kind === 'files'
      ? { kind: 'files', dir: j.fs.location, names: [] }
      : { kind: j.file.kind, path: j.fs.location };
  try {
    for (const e of j.fs.manifest.entries) {
      const key = memberKey(j.place, e.rel);
      const had = await existingObject(j, key, e);
      const etag = had ?? (await uploadOne(j, spec, key, e));
      if (had) found++;
      objects.push({ rel: e.rel, key, etag });
      back.add(e, objects.at(-1)!);
    }
  } catch (err) {
    await back.done().catch(() => undefined); // no read-back left running behind the failure
    throw err;
  }
  return { objects, found, problems: await back.done() };
}

/** One member uploaded from the filesystem copy: its ETag. */
async function uploadOne(j: Job, spec: SourceSpec, key: string, e: ManifestEntry): Promise<string> {
  const done = await uploadMember({
    client: j.client,
    bucket: j.bucket,
    key,
    path: sourcePath(spec, e.rel),
    size: e.size,
    algorithm: j.fs.manifest.algorithm,
    hash: e.hash,
    partSize: j.target.part_size_mb * 1024 * 1024,
    partsInFlight: j.target.parts_in_flight,
    storageClass: j.target.storage_class,
    metadata: objectMetadata(j.file.id, j.fs.manifest.algorithm, e.hash),
    signal: j.signal,
    onBytes: j.progress,
    onUploadStarted: (uploadId) => j.uploadStarted({ bucket: j.bucket, key, uploadId }),
  });
  return done.etag;
}

/** The manifest object (written last; one already there must say the same). */
async function putManifest(j: Job, m: S3Manifest): Promise<void> {
  const key = memberKey(j.place, MANIFEST_OBJECT);
  const body = manifestObject(j.file.id, m);
  await j.client.send(
    new PutObjectCommand({
      Bucket: j.bucket,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      StorageClass: j.target.storage_class,
      Metadata: { 'sluice-file-id': encodeURIComponent(j.file.id) },
    }),
    { abortSignal: j.signal },
  );
}

/** Copies, reads back and returns the manifest to record; throws when the read-back differs. */
export async function copyToS3(j: Job): Promise<{ manifest: S3Manifest; found: number }> {
  const { objects, found, problems } = await putMembers(j);
  const manifest: S3Manifest = {
    ...j.fs.manifest,
    s3: { bucket: j.bucket, place: j.place, objects, storageClass: j.target.storage_class },
  };
  if (problems.length > 0) {
    throw new SluiceError(
      'backup.s3_readback',
      `the S3 copy read back does not match the recorded hashes: ${problems.slice(0, 3).join('; ')}`,
      { hint: 'nothing was recorded; the copy is tried again. If it repeats, check the store' },
    );
  }
  await putManifest(j, manifest);
  return { manifest, found };
}

async function failed(tx: Tx, task: TaskRow, err: unknown): Promise<void> {
  const target = (task.payload as { target?: string }).target ?? '?';
  const hint = err instanceof SluiceError && err.hint ? ` — ${err.hint}` : '';
  await addToTimeline(
    tx,
    task.subject!,
    ACTOR,
    `copy to S3 target ${target} failed: ${errorMessage(err)}${hint}`,
    {
      code: err instanceof SluiceError ? err.code : 'unknown',
      target,
    },
  );
}

/**
 * Aborts the multipart uploads an earlier attempt remembered (one killed mid-upload: its parts would
 * stay in the store otherwise; the store may not list uploads, s3rver does not). Returns the ones
 * still to abort (the store refused) and a line per upload for the timeline.
 */
async function abortRemembered(
  client: S3Client,
  ups: RememberedUpload[],
): Promise<{ left: RememberedUpload[]; notes: string[] }> {
  const left: RememberedUpload[] = [];
  const notes: string[] = [];
  for (const up of ups) {
    const r = await abortUpload(client, up);
    if (r.startsWith('not aborted')) left.push(up);
    if (r !== 'gone') notes.push(`multipart upload ${up.uploadId} of an earlier attempt ${r}`);
  }
  return { left, notes };
}

export function s3CopyHandler(deps: S3CopyDeps): TaskHandlerDef {
  return defineHandler(Kind.backupS3, {
    stallMs: deps.config.worker.stall_seconds * 1000,
    onTakenOver: noteTakeoverOnSubject,
    onFailed: failed,
    async run(ctx) {
      const target = s3Target(deps.config, ctx.payload.target);
      const file = await getFile(ctx.db, ctx.task.subject!);
      const fs = file && (await verifiedCopy(ctx.db, file.id, 'backup'));
      if (!target || !file || !fs) {
        ctx.log.info(
          { fileId: ctx.task.subject, target: ctx.payload.target },
          'nothing to copy to S3 (target, file or its filesystem copy gone)',
        );
        return;
      }
      const now = await verifiedCopy(ctx.db, file.id, target.name);
      if (now && sameContent(now.manifest, fs.manifest)) return;
      const bucket = bucketFor(target, file);
      const place = placeFor(target, deps.config.backup.layout, file);
      const started = Date.now();
      ctx.progress(`copying to ${s3Location(bucket, place)}`);
      const client = clientFor(target);
      const earlier = await abortRemembered(client, ctx.payload.uploads ?? []);
      if (earlier.notes.length) ctx.log.info({ fileId: file.id, notes: earlier.notes }, 'earlier uploads');
      const uploads = [...earlier.left];
      const j: Job = {
        client,
        target,
        file,
        fs,
        bucket,
        place,
        signal: ctx.signal,
        progress: () => ctx.progress(),
        uploadStarted: async (up) => {
          uploads.push(up);
          await ctx.remember({ uploads });
        },
        acceptOverwrite: ctx.payload.acceptOverwrite === true,
        stamp: ctx.task.created_at,
        kept: [],
        damagedUpTo: (await latestCorruptBackup(ctx.db, file.id, target.name))?.verified_at,
        redone: [],
      };
      const { manifest, found } = await copyToS3(j);
      const seconds = (Date.now() - started) / 1000;
      const where = s3Location(bucket, place);
      await ctx.complete(async (tx) => {
        await retireVerifiedCopies(tx, file.id, target.name);
        await insertVerifiedCopy(
          tx,
          file.id,
          target.name,
          where,
          manifest,
          seconds,
          found === manifest.entries.length,
        );
        await addToTimeline(
          tx,
          file.id,
          ACTOR,
          `copied to S3 target ${target.name} (${where}): ${manifest.entries.length} object(s), ${manifest.totalBytes} bytes in ${seconds.toFixed(1)} s; ETags checked, read back and verified (${manifest.algorithm})${found ? `; ${found} object(s) found from an earlier attempt` : ''}${j.kept.length ? `; overwrite accepted: what was at the key kept aside as ${j.kept.join(', ')}` : ''}${j.redone.length ? `; ${j.redone.length} object(s) of the copy found damaged uploaded again` : ''}${earlier.notes.map((n) => `; ${n}`).join('')}`,
          { target: target.name, location: where },
        );
      });
      ctx.log.info({ fileId: file.id, target: target.name, where, seconds }, 'copied to S3');
    },
  });
}
