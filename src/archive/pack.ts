/**
 * Packing: the verified backup copies of a set of files streamed into one POSIX (pax) tar by npm
 * `tar-stream`, never a hand-written format. Layout (BagIt-style): `bagit.txt` first, each member at
 * `data/<instrument>/<file id>/<rel>` with its mode and the acquisition's mtime, and
 * `manifest-sha256.txt` (`<sha256>  data/…` per member) last.
 *
 * Every member is hashed as it is read and the hash compared with the one recorded when its backup
 * copy was verified (`copies.manifest`, in its algorithm; sha256 is computed besides when that is
 * another one): a backup that changed since is refused (`PackCorruptError`, naming the file), never
 * laundered into an archive. Memory stays bounded: the tar is pulled by `sink` chunk by chunk and
 * reading waits while the sink is busy (tar-stream's back-pressure); nothing is staged on disk.
 *
 * Outputs and metrics (pack-extras.ts) follow each file's raw members when its policy asks for them:
 * they have no recorded hash, so they are hashed here for the first time (an output file whose size
 * changes while it is read is refused: `archive.output_changed`).
 *
 * Offsets: where each member's header and content start in the tar are counted from the bytes the
 * packer emits (its `push`) around each header it encodes; the read-back (verify.ts) hashes every
 * member at its recorded offset, so an offset that were wrong would fail the archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import tar from 'tar-stream';
import { sourcePath } from '../backup/manifest.ts';
import { SluiceError } from '../core/errors.ts';
import type { Manifest } from '../storage/raw-data.ts';
import type { ExtraSource } from './pack-extras.ts';
import type { NewMember } from './repo.ts';

export const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
export const MANIFEST_NAME = 'manifest-sha256.txt';
const READ_CHUNK = 1024 * 1024;

/** One file to pack: its record and its verified backup copy. */
export interface PackSource {
  fileId: string;
  instrumentId: string;
  kind: 'file' | 'folder' | 'files';
  /** The backup copy's location (a file, or a folder for `folder`/`files`). */
  location: string;
  manifest: Manifest;
  /** Outputs and metrics packed after the raw members (pack-extras.ts). */
  extras?: readonly ExtraSource[];
}

/** A backup copy that no longer matches its recorded hash (or size): the file is left out. */
export class PackCorruptError extends SluiceError {
  constructor(
    readonly fileId: string,
    message: string,
    code = 'archive.backup_differs',
  ) {
    super(code, message, {
      hint:
        code === 'archive.backup_differs'
          ? `the backup of ${fileId} differs from what was verified; it is not archived. Run its fixity audit / \`sluice files retry ${fileId}\` to repair the backup`
          : `an output of ${fileId} changed while it was packed; the set is archived again later`,
    });
  }
}

/** Pure: the member path of `rel` of a file in the tar. */
export function memberPath(instrumentId: string, fileId: string, rel: string): string {
  return `data/${instrumentId}/${fileId}/${rel}`;
}

/** Pure: a path as BagIt manifests write it (CR, LF and % percent-encoded). */
export function bagitPath(p: string): string {
  return p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Pure: the manifest-sha256.txt text for `members`. */
export function manifestText(members: readonly Pick<NewMember, 'sha256' | 'path'>[]): string {
  return members.map((m) => `${m.sha256}  ${bagitPath(m.path)}\n`).join('');
}

export interface PackResult {
  members: NewMember[];
  /** Bytes of the tar. */
  bytes: number;
  manifestSha256: string;
}

type Offsets = Map<string, { header: number; data: number }>;

/** A tar-stream packer whose emitted bytes and header positions are counted. */
function countingPack(): { pack: tar.Pack; offsets: Offsets; emitted: () => number } {
  const pack = tar.pack();
  const offsets: Offsets = new Map();
  let pushed = 0;
  const p = pack as unknown as { push(b: Uint8Array | null): boolean; _encode(h: { name: string }): void };
  const push = p.push.bind(pack);
  p.push = (b) => {
    if (b) pushed += b.byteLength;
    return push(b);
  };
  const encode = p._encode.bind(pack);
  p._encode = (h) => {
    const header = pushed;
    encode(h);
    offsets.set(h.name, { header, data: pushed });
  };
  return { pack, offsets, emitted: () => pushed };
}

function entryDone(
  pack: tar.Pack,
  header: tar.Header,
): { stream: NodeJS.WritableStream; done: Promise<void> } {
  let stream!: NodeJS.WritableStream;
  const done = new Promise<void>((resolve, reject) => {
    stream = pack.entry(header, (err) => (err ? reject(err) : resolve())) as unknown as NodeJS.WritableStream;
  });
  return { stream, done };
}

/** Writes a chunk; waits for room, or rejects when the sink failed (`broken`). */
async function writeChunk(
  stream: NodeJS.WritableStream,
  chunk: Buffer,
  broken: Promise<never>,
): Promise<void> {
  if (stream.write(chunk)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once('drain', resolve)), broken]);
}

/** Adds one member from the backup copy, hashing it against the recorded hash. */
async function addMember(
  pack: tar.Pack,
  src: PackSource,
  e: Manifest['entries'][number],
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void },
  broken: Promise<never>,
): Promise<Omit<NewMember, 'headerOffset' | 'dataOffset'>> {
  const spec =
    src.kind === 'files'
      ? { kind: 'files' as const, dir: src.location, names: [] }
      : { kind: src.kind, path: src.location };
  const file = sourcePath(spec, e.rel);
  const st = await stat(file);
  const path = memberPath(src.instrumentId, src.fileId, e.rel);
  if (st.size !== e.size) {
    throw new PackCorruptError(src.fileId, `${file} has ${st.size} bytes; ${e.size} were verified`);
  }
  const mtime = new Date(e.mtimeMs);
  const header = { name: path, size: e.size, mode: st.mode & 0o7777, mtime, type: 'file' } as tar.Header;
  const { stream, done } = entryDone(pack, header);
  const sha = createHash('sha256');
  const recorded = src.manifest.algorithm === 'sha256' ? sha : createHash(src.manifest.algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK, signal: opts.signal })) {
    const b = chunk as Buffer;
    sha.update(b);
    if (recorded !== sha) recorded.update(b);
    await writeChunk(stream, b, broken);
    opts.onBytes?.(b.byteLength);
  }
  const sha256 = sha.digest('hex');
  const got = recorded === sha ? sha256 : recorded.digest('hex');
  if (got !== e.hash) {
    stream.end();
    throw new PackCorruptError(
      src.fileId,
      `${file} hashes to ${src.manifest.algorithm} ${got}; ${e.hash} was verified when it was backed up`,
    );
  }
  stream.end();
  await Promise.race([done, broken]);
  return { fileId: src.fileId, path, rel: e.rel, size: e.size, sha256, mode: st.mode & 0o7777, mtime };
}

/** Adds an output file or the metrics text, hashed at first sight (no hash was recorded before). */
async function addExtra(
  pack: tar.Pack,
  fileId: string,
  x: ExtraSource,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void },
  broken: Promise<never>,
): Promise<Omit<NewMember, 'headerOffset' | 'dataOffset'>> {
  const base = { fileId, path: x.path, rel: x.rel, kind: x.kind };
  if (x.kind === 'metrics') {
    const mtime = new Date();
    const body = await addText(pack, x.path, x.text, broken, mtime);
    const sha256 = createHash('sha256').update(body).digest('hex');
    return { ...base, size: body.length, sha256, mode: 0o644, mtime, jobRowId: null };
  }
  const header = { name: x.path, size: x.size, mode: x.mode, mtime: x.mtime, type: 'file' } as tar.Header;
  const { stream, done } = entryDone(pack, header);
  const sha = createHash('sha256');
  let n = 0;
  if (x.size > 0) {
    const from = createReadStream(x.file, {
      highWaterMark: READ_CHUNK,
      end: x.size - 1,
      signal: opts.signal,
    });
    for await (const chunk of from) {
      const b = chunk as Buffer;
      sha.update(b);
      n += b.byteLength;
      await writeChunk(stream, b, broken);
      opts.onBytes?.(b.byteLength);
    }
  }
  const now = await stat(x.file);
  if (n !== x.size || now.size !== x.size) {
    stream.end();
    throw new PackCorruptError(
      fileId,
      `output ${x.file} changed while it was packed (${x.size} bytes listed, ${now.size} now)`,
      'archive.output_changed',
    );
  }
  stream.end();
  await Promise.race([done, broken]);
  return {
    ...base,
    size: x.size,
    sha256: sha.digest('hex'),
    mode: x.mode,
    mtime: x.mtime,
    jobRowId: x.jobRowId,
  };
}

async function addText(
  pack: tar.Pack,
  name: string,
  text: string,
  broken: Promise<never>,
  mtime = new Date(),
): Promise<Buffer> {
  const body = Buffer.from(text, 'utf8');
  const done = new Promise<void>((resolve, reject) =>
    pack.entry({ name, size: body.length, mode: 0o644, mtime, type: 'file' } as tar.Header, body, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  await Promise.race([done, broken]);
  return body;
}

/**
 * Packs `sources` into one tar handed to `sink` chunk by chunk (awaited: back-pressure). Throws
 * `PackCorruptError` when a backup differs from its recorded hashes (the tar is then incomplete:
 * the caller discards it).
 */
export async function packArchive(
  sources: readonly PackSource[],
  sink: (chunk: Buffer) => Promise<void>,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<PackResult> {
  const { pack, offsets, emitted } = countingPack();
  const consumer = (async () => {
    for await (const chunk of pack) await sink(Buffer.from(chunk as Uint8Array));
  })();
  // the sink failed: the producer stops waiting for room that will never come
  const broken = consumer.then(
    () => new Promise<never>(() => {}),
    (err: unknown) => Promise.reject(err),
  );
  broken.catch(() => {});
  const members: NewMember[] = [];
  try {
    await addText(pack, 'bagit.txt', BAGIT_TXT, broken);
    for (const src of sources) {
      for (const e of src.manifest.entries) {
        const m = await addMember(pack, src, e, opts, broken);
        const o = offsets.get(m.path);
        if (!o) throw new Error(`no header offset was counted for ${m.path}`);
        members.push({ ...m, headerOffset: o.header, dataOffset: o.data });
      }
      for (const x of src.extras ?? []) {
        const m = await addExtra(pack, src.fileId, x, opts, broken);
        const o = offsets.get(m.path);
        if (!o) throw new Error(`no header offset was counted for ${m.path}`);
        members.push({ ...m, headerOffset: o.header, dataOffset: o.data });
      }
    }
    const manifest = manifestText(members);
    await addText(pack, MANIFEST_NAME, manifest, broken);
    pack.finalize();
    await consumer;
    return {
      members,
      bytes: emitted(),
      manifestSha256: createHash('sha256').update(manifest, 'utf8').digest('hex'),
    };
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    await consumer.catch(() => {});
    throw err;
  }
}
