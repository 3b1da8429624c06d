/**
 * Where a file's S3 copy goes and how S3 names what it stored, pure: the bucket (fixed or per
 * project / instrument), the objects' keys (one per member of the raw data under the file's place,
 * plus a manifest object), the `s3://` location recorded on the copy, and the ETag S3 gives a
 * multipart upload (the MD5 of the parts' MD5s, then `-<parts>`), computed locally to compare.
 */
import { createHash } from 'node:crypto';
import type { S3TargetConfig } from '../../core/config/schema/backup-targets.ts';
import { layoutPath, type Manifest } from '../../storage/raw-data.ts';

/** The name of the object listing a copy's members, under the file's place. */
export const MANIFEST_OBJECT = 'sluice-manifest.json';

type FileFacts = { id: string; instrument_id: string; project_id: string; mtime: Date };

/** The bucket of `file` on target `t` (placeholders filled). */
export function bucketFor(t: Pick<S3TargetConfig, 'bucket'>, file: FileFacts): string {
  return t.bucket.replace(/\{(project|instrument)\}/g, (_, k: string) =>
    k === 'project' ? file.project_id : file.instrument_id,
  );
}

/** The key under which `file`'s objects go: prefix + `backup.layout` filled in, ending in `/`. */
export function placeFor(t: Pick<S3TargetConfig, 'prefix'>, layout: string, file: FileFacts): string {
  return `${t.prefix}${layoutPath(layout, file)}/`;
}

/** The key of member `rel` (a manifest entry's `/`-separated path) under `place`. */
export function memberKey(place: string, rel: string): string {
  return `${place}${rel}`;
}

/** `s3://bucket/place` — the copy's location. */
export function s3Location(bucket: string, place: string): string {
  return `s3://${bucket}/${place}`;
}

/** `s3://bucket/place` back into its parts; undefined for anything else. */
export function parseS3Location(location: string): { bucket: string; place: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(location);
  return m ? { bucket: m[1]!, place: m[2]! } : undefined;
}

/** The ETag of a single PUT: the hex MD5 of the body. Of a multipart upload: md5(md5s…)-parts. */
export function expectedEtag(partMd5s: readonly Buffer[], multipart: boolean): string {
  if (!multipart) return partMd5s[0]?.toString('hex') ?? createHash('md5').digest('hex');
  const h = createHash('md5');
  for (const m of partMd5s) h.update(m);
  return `${h.digest('hex')}-${partMd5s.length}`;
}

/** An ETag as servers send it (quoted) compared with ours. */
export function sameEtag(server: string | undefined, ours: string): boolean {
  return (server ?? '').replace(/"/g, '').toLowerCase() === ours;
}

/** One stored object of an S3 copy. */
export interface S3Object {
  rel: string;
  key: string;
  etag: string;
}

/**
 * What an S3 copy records (the copy row's manifest): the filesystem copy's manifest (the members'
 * sizes and hashes, which the read-back and the fixity audit compare against) and where each went.
 */
export interface S3Manifest extends Manifest {
  s3: { bucket: string; place: string; objects: S3Object[]; storageClass: string };
}

/** The manifest object's content: the file, and each member's name, size, hash and key. */
export function manifestObject(fileId: string, m: S3Manifest): string {
  const byRel = new Map(m.s3.objects.map((o) => [o.rel, o]));
  const members = m.entries.map((e) => ({
    name: e.rel,
    size: e.size,
    [m.algorithm]: e.hash,
    key: byRel.get(e.rel)?.key,
    etag: byRel.get(e.rel)?.etag,
  }));
  return `${JSON.stringify({ file_id: fileId, algorithm: m.algorithm, total_bytes: m.totalBytes, members }, null, 2)}\n`;
}

/** Object metadata (x-amz-meta-*): the file id and the member's recorded hash. */
export function objectMetadata(fileId: string, algorithm: string, hash: string): Record<string, string> {
  return { 'sluice-file-id': encodeURIComponent(fileId), [`sluice-${algorithm}`]: hash };
}
