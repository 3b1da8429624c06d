/**
 * Exports: a data set as an RO-Crate (metadata only, or a zip with the files read from their verified
 * backup copies, each hashed with sha256 as it is read), and samples as CSV. Written to a temporary
 * name and renamed, so a partial export never carries the final name.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { verifiedCopy } from '../files/repo.ts';
import { jobsOf } from '../process/jobs.ts';
import type { DatasetContents } from './datasets.ts';
import { type CrateEntry, type CrateJob, roCrate } from './rocrate.ts';

interface Source extends CrateEntry {
  /** Where the bytes are: the verified backup copy. */
  real: string;
}

async function sha256Of(p: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(p), h);
  return h.digest('hex');
}

/** Every file's entries at their verified backup copy, hashed; a file without one is refused. */
async function sources(q: Queryable, c: DatasetContents): Promise<Source[]> {
  const out: Source[] = [];
  for (const f of c.files) {
    const copy = await verifiedCopy(q, f.id);
    if (!copy) {
      throw new UsageError(
        `file '${f.id}' has no verified backup copy yet; an export reads files from their backups`,
        'wait for its backup (`sluice files show` tells its status), or remove it from the data set',
      );
    }
    for (const e of copy.manifest.entries) {
      const real = f.kind === 'file' ? copy.location : path.join(copy.location, e.rel);
      out.push({
        path: `data/${f.id}/${e.rel}`,
        fileId: f.id,
        size: e.size,
        sha256: await sha256Of(real),
        real,
      });
    }
  }
  return out;
}

async function jobsOfFiles(q: Queryable, c: DatasetContents): Promise<CrateJob[]> {
  const jobs: CrateJob[] = [];
  for (const f of c.files) jobs.push(...(await jobsOf(q, f.id)));
  return jobs;
}

/**
 * Writes the data set's RO-Crate to `out`: `zip` a zip with `ro-crate-metadata.json` and the files;
 * `metadata` the JSON file alone. Returns the files' count and bytes.
 */
export async function exportDataset(
  q: Queryable,
  c: DatasetContents,
  out: string,
  format: 'zip' | 'metadata',
): Promise<{ files: number; bytes: number; path: string }> {
  const entries = await sources(q, c);
  const crate = roCrate({
    name: c.dataset.name,
    description: c.dataset.description,
    exportedAt: new Date(),
    files: c.files,
    entries,
    samples: c.samples,
    measured: c.measured,
    jobs: await jobsOfFiles(q, c),
  });
  const json = Buffer.from(`${JSON.stringify(crate, null, 2)}\n`);
  const tmp = `${out}.partial-${process.pid}`;
  try {
    if (format === 'metadata') await writeFile(tmp, json);
    else {
      const { ZipFile } = await import('yazl');
      const zip = new ZipFile();
      zip.addBuffer(json, 'ro-crate-metadata.json');
      for (const e of entries) zip.addFile(e.real, e.path, { compress: false });
      zip.end();
      await pipeline(zip.outputStream, createWriteStream(tmp));
    }
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { files: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0), path: out };
}
