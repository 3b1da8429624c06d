/**
 * Archive targets by kind: where an archive's key is (`locationOf`), writing a packed archive to it
 * (`writeArchive`: the target's checks, then pack.ts streaming into the target), reading it back
 * (`readArchive`) and removing one that did not verify (`removeArchive`). The filesystem kind is in
 * fs-target.ts, the S3 kind in s3-target.ts.
 */
import type { ArchiveTarget } from '../core/config/schema/archive.ts';
import type { Kind, KindContext } from '../tasks/catalogue.ts';
import { checkFsTarget, fsLocation, readFsArchive, removeFsArchive, writeFsArchive } from './fs-target.ts';
import { type PackResult, type PackSource, packArchive } from './pack.ts';
import { readS3Archive, removeS3Archive, s3ArchiveLocation, writeS3Archive } from './s3-target.ts';

export function locationOf(t: ArchiveTarget, key: string): string {
  return t.type === 'filesystem' ? fsLocation(t, key) : s3ArchiveLocation(t, key);
}

/** Packs `sources` into the archive at `key` on `t` (about `bytes` of content). */
export async function writeArchive(
  ctx: KindContext<typeof Kind.archivePack>,
  t: ArchiveTarget,
  key: string,
  sources: readonly PackSource[],
  bytes: number,
): Promise<PackResult> {
  const opts = { signal: ctx.signal, onBytes: () => ctx.progress() };
  if (t.type === 'filesystem') {
    await checkFsTarget(t, bytes);
    return writeFsArchive(t, key, (sink) => packArchive(sources, sink, opts));
  }
  return writeS3Archive(ctx, t, key, (sink) => packArchive(sources, sink, opts));
}

export function readArchive(
  t: ArchiveTarget,
  key: string,
  signal?: AbortSignal,
): AsyncIterable<Buffer | Uint8Array> {
  return t.type === 'filesystem' ? readFsArchive(t, key, signal) : readS3Archive(t, key, signal);
}

export async function removeArchive(t: ArchiveTarget, key: string): Promise<void> {
  if (t.type === 'filesystem') await removeFsArchive(t, key);
  else await removeS3Archive(t, key);
}
