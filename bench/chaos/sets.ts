/**
 * The chaos benchmark's raw data and its ledger: what the bench wrote on each instrument, names as
 * bytes, the content of every version at the moment it was final (sha256 per member), and when it
 * was replaced. Writers work on Buffer paths throughout, so names that are not UTF-8 (Latin-1 bytes)
 * and 255-byte names reach the filesystem exactly as meant.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { sleep } from './infra.ts';

export type InstrumentType = 'thermo' | 'bruker' | 'sciex';
export type SetKind = 'file' | 'folder' | 'files';
export type Variant =
  | 'plain'
  | 'replaced'
  | 'growing'
  | 'latin1-name'
  | 'latin1-members'
  | 'long-name'
  | 'large'
  | 'bait';

export interface Member {
  /** Path inside the set ('' for a single file; the file name for a Sciex set; relative for a folder). */
  rel: Buffer;
  size: number;
  sha: string;
}

export interface Version {
  fp: string;
  members: Member[];
  bytes: number;
  /** When the bench began writing this version (ms). */
  startedAt: number;
  /** When its last byte was written (ms); undefined while it is being written. */
  finalAt?: number;
  /** When the bench deleted it to write another version under the same name (ms). */
  replacedAt?: number;
}

export interface DataSet {
  idx: number;
  instrument: string;
  type: InstrumentType;
  kind: SetKind;
  /** Name of the main entry, as bytes. */
  name: Buffer;
  variant: Variant;
  versions: Version[];
}

export const KIND: Record<InstrumentType, SetKind> = { thermo: 'file', bruker: 'folder', sciex: 'files' };

/** Escapes bytes that are not printable ASCII as \xNN, for reports. */
export function shown(name: Buffer): string {
  let s = '';
  for (const b of name)
    s +=
      b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return s.length > 80 ? `${s.slice(0, 40)}…${s.slice(-30)} (${name.length} bytes)` : s;
}

export const join = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.flatMap((p, i) => [...(i ? [Buffer.from('/')] : []), Buffer.isBuffer(p) ? p : Buffer.from(p)]),
  );

export function fingerprint(members: Member[]): string {
  const lines = [...members]
    .sort((a, b) => Buffer.compare(a.rel, b.rel))
    .map((m) => `${m.rel.toString('hex')}:${m.size}:${m.sha}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function version(members: Member[], startedAt: number): Version {
  return {
    fp: fingerprint(members),
    members,
    bytes: members.reduce((s, m) => s + m.size, 0),
    startedAt,
    finalAt: Date.now(),
  };
}

/** Plans `n` sets over three instruments: mostly plain, with at least one of each awkward variant. */
export function planSets(
  n: number,
  instruments: Record<InstrumentType, string>,
  rand: () => number,
): DataSet[] {
  const share = (p: number) => Math.max(1, Math.round(n * p));
  const types: InstrumentType[] = ['thermo', 'bruker', 'sciex'];
  const sets: DataSet[] = [];
  const special: [Variant, number, InstrumentType[]][] = [
    ['replaced', share(0.04), ['thermo', 'bruker']],
    ['growing', share(0.03), ['thermo', 'bruker']],
    ['latin1-name', share(0.02), ['thermo', 'bruker', 'sciex']],
    ['latin1-members', share(0.02), ['bruker']],
    ['long-name', share(0.01), ['thermo', 'bruker', 'sciex']],
    ['large', share(0.01), ['thermo', 'bruker']],
  ];
  const variants: { v: Variant; t?: InstrumentType }[] = [];
  for (const [v, count, ts] of special)
    for (let i = 0; i < count; i++) variants.push({ v, t: ts[i % ts.length]! });
  while (variants.length < n) variants.push({ v: 'plain' });
  variants.length = n;
  // shuffle so the awkward ones are spread over the run
  for (let i = variants.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [variants[i], variants[j]] = [variants[j]!, variants[i]!];
  }
  variants.forEach(({ v, t }, idx) => {
    const type = t ?? types[idx % 3]!;
    sets.push({
      idx,
      instrument: instruments[type],
      type,
      kind: KIND[type],
      name: setName(type, v, idx),
      variant: v,
      versions: [],
    });
  });
  return sets;
}

const EXT: Record<InstrumentType, string> = { thermo: '.raw', bruker: '.d', sciex: '.wiff' };

export function setName(type: InstrumentType, v: Variant, idx: number): Buffer {
  const n = String(idx).padStart(5, '0');
  const ext = EXT[type];
  if (v === 'latin1-name')
    // "chaos_Probe_Müller_<n>" in Latin-1: 0xfc is not valid UTF-8 on its own
    return Buffer.concat([Buffer.from('chaos_Probe_M'), Buffer.from([0xfc]), Buffer.from(`ller_${n}${ext}`)]);
  if (v === 'long-name') {
    // 255 bytes in all, the most a name may have; for Sciex the longest companion must fit
    const max = type === 'sciex' ? 255 - '.scan'.length : 255;
    const stem = `chaos_long_${n}_`;
    return Buffer.from(stem + 'L'.repeat(max - stem.length - ext.length) + ext);
  }
  return Buffer.from(`chaos_${type}_${v}_${n}${ext}`);
}

export interface WriteOpts {
  /** Bytes of a plain set (roughly; each member is sized from it). */
  plainBytes: () => number;
  largeBytes: number;
  /** A growing set appends this many chunks, one per second. */
  growSteps: number;
}

/** Writes one version of `set` under `dir` and returns it (content as it stands when final). */
export async function writeVersion(dir: string, set: DataSet, o: WriteOpts, salt = 0): Promise<Version> {
  const startedAt = Date.now();
  const big = set.variant === 'large' || set.variant === 'bait' ? o.largeBytes : o.plainBytes() + salt * 4096;
  const growing = set.variant === 'growing';
  if (set.type === 'thermo') {
    const p = join(dir, set.name);
    if (!growing) {
      const data = randomBytes(big);
      await writeFile(p, data);
      return version([{ rel: Buffer.alloc(0), size: data.length, sha: sha(data) }], startedAt);
    }
    const h = createHash('sha256');
    let size = 0;
    for (let i = 0; i < o.growSteps; i++) {
      const chunk = randomBytes(Math.ceil(big / o.growSteps));
      await appendFile(p, chunk);
      h.update(chunk);
      size += chunk.length;
      if (i < o.growSteps - 1) await sleep(1000);
    }
    return version([{ rel: Buffer.alloc(0), size, sha: h.digest('hex') }], startedAt);
  }
  if (set.type === 'bruker') {
    const root = join(dir, set.name);
    await mkdir(root);
    const members: Member[] = [];
    const put = async (rel: Buffer, data: Buffer) => {
      await writeFile(join(root, rel), data);
      members.push({ rel, size: data.length, sha: sha(data) });
    };
    await put(Buffer.from('analysis.tdf'), randomBytes(8192));
    if (set.variant === 'latin1-members') {
      await mkdir(join(root, 'sub'));
      await put(
        Buffer.concat([Buffer.from('Probe_M'), Buffer.from([0xfc]), Buffer.from('ller.tdf')]),
        randomBytes(50_000),
      );
      await put(
        Buffer.concat([Buffer.from('sub/r'), Buffer.from([0xe9]), Buffer.from('sultat.bin')]),
        randomBytes(55_000),
      );
    }
    const rel = Buffer.from('analysis.tdf_bin');
    if (!growing) await put(rel, randomBytes(big));
    else {
      const h = createHash('sha256');
      let size = 0;
      for (let i = 0; i < o.growSteps; i++) {
        const chunk = randomBytes(Math.ceil(big / o.growSteps));
        await appendFile(join(root, rel), chunk);
        h.update(chunk);
        size += chunk.length;
        if (i < o.growSteps - 1) await sleep(1000);
      }
      members.push({ rel, size, sha: h.digest('hex') });
    }
    return version(members, startedAt);
  }
  // sciex: the companion first, then the main file
  const scan = Buffer.concat([set.name, Buffer.from('.scan')]);
  const a = randomBytes(big);
  const b = randomBytes(Math.max(1024, Math.floor(big / 4)));
  await writeFile(join(dir, scan), a);
  await writeFile(join(dir, set.name), b);
  return version(
    [
      { rel: scan, size: a.length, sha: sha(a) },
      { rel: set.name, size: b.length, sha: sha(b) },
    ],
    startedAt,
  );
}

/** Deletes the set's entries from the instrument (before writing another version under its name). */
export async function deleteSet(dir: string, set: DataSet): Promise<void> {
  await rm(join(dir, set.name), { recursive: true, force: true });
  if (set.type === 'sciex')
    await rm(join(dir, Buffer.concat([set.name, Buffer.from('.scan')])), { force: true });
}

async function shaOfFile(p: Buffer): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file under `root` (recursively) as [path relative to root, size, sha256]. */
export async function walk(root: Buffer, rel: Buffer = Buffer.alloc(0)): Promise<Member[]> {
  const out: Member[] = [];
  const here = rel.length ? join(root, rel) : root;
  for (const name of await readdir(here, { encoding: 'buffer' })) {
    const r = rel.length ? join(rel, name) : name;
    try {
      const st = await lstat(join(root, r));
      if (st.isDirectory()) out.push(...(await walk(root, r)));
      else if (st.isFile()) out.push({ rel: r, size: st.size, sha: await shaOfFile(join(root, r)) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed while we walked
    }
  }
  return out;
}

/**
 * The fingerprint of what is at a copy's `location` now, read from storage the way the ledger
 * computed it at the source: 'missing' when nothing is there. For a Sciex set the location is the
 * folder holding the main file and its companions.
 */
export async function fingerprintAt(kind: SetKind, location: Buffer): Promise<string> {
  try {
    const st = await lstat(location);
    if (kind === 'file') {
      if (!st.isFile()) return 'missing';
      return fingerprint([{ rel: Buffer.alloc(0), size: st.size, sha: await shaOfFile(location) }]);
    }
    if (!st.isDirectory()) return 'missing';
    return fingerprint(await walk(location));
  } catch {
    return 'missing';
  }
}

/** sha256 of every regular file under `dir`, hidden folders included (what an instrument still holds). */
export async function contentIndex(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    for (const m of await walk(Buffer.from(dir))) out.add(m.sha);
  } catch {
    // an instrument folder that is gone holds nothing
  }
  return out;
}
