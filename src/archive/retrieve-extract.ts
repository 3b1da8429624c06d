/**
 * Extracts an archive (a pax tar, read as a stream from its target) into a folder of the retrieval
 * area and verifies every member against the sha256 and size recorded for it while writing it: one
 * pass, no staging of the tar. Each file is fsynced before the next; the caller renames the folder
 * into place only after every expected member was seen and matched, so a killed or failed
 * extraction never leaves anything that looks retrieved. Member names are checked
 * (retrieve-rules.ts `memberTarget`): nothing is written outside the folder.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { type Header, extract as tarExtract } from 'tar-stream';
import { SluiceError } from '../core/errors.ts';
import { memberTarget } from './retrieve-rules.ts';

export interface ExpectedMember {
  /** The member's name in the tar. */
  name: string;
  size: number;
  sha256: string;
}

export interface ExtractResult {
  members: number;
  bytes: number;
}

/** Names in an archive that are not members of a set (the BagIt declaration and manifest) and are not extracted. */
export const NOT_MEMBERS = new Set(['manifest-sha256.txt', 'bagit.txt']);

function mismatch(message: string): SluiceError {
  return new SluiceError('retrieve.mismatch', message, {
    hint: 'the archive does not hold what was recorded for it; the retrieval is retried from the target, then fails with this reason',
  });
}

function drain(entry: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    entry.on('end', resolve);
    entry.on('error', reject);
    entry.resume();
  });
}

async function writeMember(
  entry: AsyncIterable<Buffer>,
  file: string,
  mode: number,
  onBytes: (n: number) => void,
): Promise<{ size: number; sha256: string }> {
  await mkdir(path.dirname(file), { recursive: true });
  const fh = await open(file, 'wx', mode & 0o7777 ? (mode & 0o777) | 0o200 : 0o644);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of entry) {
      hash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
      onBytes(chunk.length);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Reads the tar from `source` into `dest` (a fresh folder), checking each member against `expected`
 * (by name). Throws `retrieve.mismatch` on a differing, unexpected or missing member.
 */
export async function extractVerified(
  source: Readable,
  dest: string,
  expected: ReadonlyMap<string, ExpectedMember>,
  opts: { onBytes?: (n: number) => void; onMember?: (name: string) => void } = {},
): Promise<ExtractResult> {
  const onBytes = opts.onBytes ?? (() => {});
  const seen = new Set<string>();
  let bytes = 0;
  await mkdir(dest, { recursive: true });
  const ex = tarExtract();
  const member = async (h: Header, entry: Readable): Promise<void> => {
    const name = h.name.replace(/^\.\//, '').replace(/\/$/, '');
    if (h.type === 'directory' && (name === '' || name === '.')) return drain(entry);
    const where = memberTarget(dest, name);
    if ('refused' in where) throw mismatch(`archive member '${h.name}' refused: ${where.refused}`);
    if (h.type === 'directory') {
      await mkdir(where.path, { recursive: true });
      return drain(entry);
    }
    if ((h.type !== 'file' && h.type !== 'contiguous-file') || NOT_MEMBERS.has(name)) return drain(entry);
    const want = expected.get(name);
    if (!want) throw mismatch(`archive member '${name}' is not recorded for this archive`);
    const got = await writeMember(entry as AsyncIterable<Buffer>, where.path, h.mode ?? 0o644, onBytes);
    if (got.size !== want.size || got.sha256 !== want.sha256)
      throw mismatch(
        `archive member '${name}': read ${got.size} bytes with sha256 ${got.sha256}, recorded ${want.size} bytes with sha256 ${want.sha256}`,
      );
    if (h.mtime) await utimes(where.path, h.mtime, h.mtime);
    seen.add(name);
    bytes += got.size;
    opts.onMember?.(name);
  };
  // the documented callback form: the async-iterator form stalled on sources that deliver chunks
  // faster than the entries are consumed (an HTTP response, the S3 SDK's Body)
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      source.destroy();
      ex.destroy();
      reject(e);
    };
    ex.on('entry', (h, entry, next) => {
      member(h, entry as unknown as Readable).then(() => next(), fail);
    });
    ex.on('finish', () => resolve());
    ex.on('error', fail);
    source.on('error', fail);
    source.pipe(ex as unknown as NodeJS.WritableStream);
  });
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0)
    throw mismatch(
      `${missing.length} recorded member(s) missing from the archive: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
    );
  return { members: seen.size, bytes };
}
