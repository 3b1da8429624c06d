/**
 * Verification of an archive read back from its target: one sequential pass over the tar's bytes
 * (from the filesystem or an S3 GetObject stream) that
 *   - re-hashes every member's content at its recorded `data_offset` against its recorded sha256
 *     (so the offsets retrieval relies on are proven too),
 *   - parses the tar with tar-stream and checks its entries are exactly bagit.txt, the members in
 *     order with their sizes, and manifest-sha256.txt, whose sha256 must be the recorded one,
 *   - checks the tar's length.
 * Any difference is a problem; only a result with none lets an archive count (`archived`).
 * `RangeHasher` is the pure part (bytes in → per-member digests).
 */
import { createHash, type Hash } from 'node:crypto';
import tar from 'tar-stream';
import { MANIFEST_NAME } from './pack.ts';

export interface ExpectedMember {
  path: string;
  size: number;
  sha256: string;
  dataOffset: number;
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
  bytes: number;
}

/** Hashes the byte ranges [dataOffset, dataOffset + size) of sorted members from a stream of chunks. */
export class RangeHasher {
  private pos = 0;
  private i = 0;
  private hash: Hash | undefined;
  readonly digests: (string | undefined)[];

  constructor(private readonly members: readonly ExpectedMember[]) {
    this.digests = members.map(() => undefined);
  }

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.i < this.members.length) {
      const m = this.members[this.i]!;
      const start = m.dataOffset;
      const end = m.dataOffset + m.size;
      const abs = this.pos + at;
      if (abs < start) {
        at += Math.min(start - abs, chunk.length - at);
        continue;
      }
      this.hash ??= createHash('sha256');
      const take = Math.min(end - abs, chunk.length - at);
      if (take > 0) this.hash.update(chunk.subarray(at, at + take));
      at += take;
      if (abs + take >= end) {
        this.digests[this.i] = this.hash.digest('hex');
        this.hash = undefined;
        this.i++;
      }
    }
    this.pos += chunk.length;
  }

  /** Members whose range ended (a zero-size member at the very end is closed here). */
  finish(): void {
    while (
      this.i < this.members.length &&
      this.members[this.i]!.dataOffset + this.members[this.i]!.size <= this.pos
    ) {
      this.digests[this.i] = (this.hash ?? createHash('sha256')).digest('hex');
      this.hash = undefined;
      this.i++;
    }
  }
}

/** Parses the tar's entries; resolves with their names and sizes, and the manifest's sha256. */
function entryLister(): {
  extract: tar.Extract;
  done: Promise<{ entries: { name: string; size: number }[]; manifestSha256?: string }>;
} {
  const extract = tar.extract();
  const entries: { name: string; size: number }[] = [];
  let manifestSha256: string | undefined;
  const done = new Promise<{ entries: { name: string; size: number }[]; manifestSha256?: string }>(
    (resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        entries.push({ name: header.name, size: header.size ?? 0 });
        const h = header.name === MANIFEST_NAME ? createHash('sha256') : undefined;
        stream.on('data', (c: unknown) => {
          h?.update(c as Buffer);
        });
        stream.on('end', () => {
          if (h) manifestSha256 = h.digest('hex');
          next();
        });
        stream.on('error', reject);
      });
      extract.on('finish', () => resolve({ entries, manifestSha256 }));
      extract.on('error', reject);
    },
  );
  return { extract, done };
}

/** Pure: the problems between what was read and what was recorded. */
export function compare(
  expected: { members: readonly ExpectedMember[]; sizeBytes: number; manifestSha256: string },
  got: {
    digests: readonly (string | undefined)[];
    bytes: number;
    entries: readonly { name: string; size: number }[];
    manifestSha256?: string;
  },
): string[] {
  const problems: string[] = [];
  if (got.bytes !== expected.sizeBytes)
    problems.push(`the tar has ${got.bytes} bytes; ${expected.sizeBytes} were written`);
  expected.members.forEach((m, i) => {
    const d = got.digests[i];
    if (d !== m.sha256)
      problems.push(`${m.path}: sha256 ${d ?? '(not read)'} at offset ${m.dataOffset}, expected ${m.sha256}`);
  });
  const names = got.entries.map((e) => e.name);
  const want = ['bagit.txt', ...expected.members.map((m) => m.path), MANIFEST_NAME];
  if (names.join('\n') !== want.join('\n')) {
    problems.push(
      `the tar lists ${names.length} entries, expected ${want.length} (bagit.txt, the members, ${MANIFEST_NAME}) in order`,
    );
  } else {
    expected.members.forEach((m, i) => {
      const e = got.entries[i + 1]!;
      if (e.size !== m.size)
        problems.push(`${m.path}: the tar header says ${e.size} bytes, expected ${m.size}`);
    });
  }
  if (got.manifestSha256 !== expected.manifestSha256) {
    problems.push(
      `${MANIFEST_NAME} hashes to ${got.manifestSha256 ?? '(missing)'}, expected ${expected.manifestSha256}`,
    );
  }
  return problems;
}

/** Reads the whole tar from `chunks` and verifies it (see the module comment). */
export async function verifyArchive(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  expected: { members: readonly ExpectedMember[]; sizeBytes: number; manifestSha256: string },
  opts: { onBytes?: (n: number) => void } = {},
): Promise<VerifyResult> {
  const members = [...expected.members].sort((a, b) => a.dataOffset - b.dataOffset);
  const ranges = new RangeHasher(members);
  const { extract, done } = entryLister();
  let bytes = 0;
  let parseError: unknown;
  done.catch((err) => {
    parseError = err;
  });
  for await (const c of chunks) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    bytes += chunk.length;
    ranges.update(chunk);
    opts.onBytes?.(chunk.length);
    if (parseError === undefined && !extract.write(chunk)) {
      await Promise.race([new Promise<void>((r) => extract.once('drain', () => r())), done.catch(() => {})]);
    }
  }
  ranges.finish();
  (extract as unknown as { end(): void }).end();
  const listed = await done.catch(() => undefined);
  const problems = compare(
    { ...expected, members },
    {
      digests: ranges.digests,
      bytes,
      entries: listed?.entries ?? [],
      manifestSha256: listed?.manifestSha256,
    },
  );
  if (parseError) problems.push(`the tar could not be parsed: ${String(parseError)}`);
  return { ok: problems.length === 0, problems, bytes };
}
