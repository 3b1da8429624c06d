/**
 * Small files backed up in batches (`backup.batch`, src/backup/batch-task.ts) by a real `sluice start`
 * worker killed with SIGKILL in the middle of a batch: nothing is recorded that was not verified, and
 * a second worker finishes every file, re-hashing the copies the killed one had already renamed into
 * place before it records them, and removes the killed batch's temp folder (temp.ts
 * `batchPartialDir`: one per batch and destination folder, no per-file partial folders); each file of
 * a killed batch has the takeover on its timeline.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPartialDir } from '../src/backup/temp.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { SLUICE_BIN } from './helpers/cli.ts';
import { KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { createTestDb } from './helpers/db.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

const FILES = 36;
const MIB = 3; // under BATCH_MAX_BYTES (4 MiB): batched, and slow enough to be caught mid-batch

/** Backup files in place under their final names (partial temps left out), by name. */
async function landed(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  // a partial directory removed while it is listed: listed again on the next poll
  const entries = await readdir(dir, { recursive: true }).catch(() => []);
  for (const e of entries) {
    const rel = String(e);
    if (rel.endsWith('.raw') && !rel.includes('sluice-partial'))
      out.set(path.basename(rel), path.join(dir, rel));
  }
  return out;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Every recorded copy's file on disk has the recorded hash, which is the source's. */
async function recordedAreTrue(db: Db, digests: Map<string, string>): Promise<number> {
  const rows = await db.query<{ file_id: string; location: string }>('select file_id, location from copies');
  for (const r of rows) {
    expect(await sha256(r.location)).toBe(digests.get(r.file_id));
  }
  return rows.length;
}

describe('backup batches under crashes', () => {
  let root: string;
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-batch-'));
    ({ url, drop } = await createTestDb());
  });
  afterAll(async () => {
    await drop();
    await rm(root, { recursive: true, force: true });
  });

  it('a worker killed mid-batch leaves nothing recorded that was not verified; the next one finishes every file', async () => {
    const watch = path.join(root, 'astral1');
    const backup = path.join(root, 'backup');
    await mkdir(watch, { recursive: true });
    const cfg = path.join(root, 'sluice.yaml');
    await writeFile(cfg, KILLED_WORKER_CONFIG);
    const digests = new Map<string, string>();
    for (let i = 0; i < FILES; i++) {
      const name = `run_${String(i).padStart(3, '0')}.raw`;
      const data = Buffer.alloc(MIB * 1024 * 1024, i + 1);
      data.write(name);
      await writeFile(path.join(watch, name), data);
      digests.set(name, createHash('sha256').update(data).digest('hex'));
    }
    const env = { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn' };
    const start = () =>
      spawnTs(SLUICE_BIN, { ...env }, { ready: 'running', args: ['start', '--role', 'worker'] });
    const { createDb } = await import('../src/core/db/db.ts');
    const db = createDb(url);
    const first = await start();
    try {
      // Mid-batch: a copy renamed into place whose record does not say so yet.
      await waitFor(
        'a copy in place, not recorded yet',
        async () => {
          const recorded = new Set(
            (await db.query<{ file_id: string }>('select file_id from copies')).map((r) => r.file_id),
          );
          return [...(await landed(backup)).keys()].some((n) => !recorded.has(n));
        },
        120_000,
        10,
      );
      first.kill('SIGKILL');
      await waitExit(first);
      const batches = await db.query<{ n: string }>(
        `select count(*) as n from tasks where kind = 'backup.batch'`,
      );
      expect(Number(batches[0]!.n)).toBeGreaterThan(0);
      // Nothing counted that was not verified: every copy row is true, and every file not
      // recorded is still waiting (never `backed_up` without its copy row).
      const before = await recordedAreTrue(db, digests);
      const unrecorded = await db.query<{ status: string }>(
        'select status from files where id not in (select file_id from copies)',
      );
      expect(before).toBeLessThan(FILES);
      for (const r of unrecorded)
        expect(['discovered', 'acquiring', 'acquired', 'backing_up']).toContain(r.status);
      // Temps only in batch folders, never a per-file partial folder.
      const partial = (await readdir(backup, { recursive: true }))
        .map(String)
        .filter((e) => e.includes('sluice-partial'));
      for (const e of partial)
        expect(e).toMatch(/(^|\/)\.sluice-batch-\d+\.sluice-partial-batch(\/[0-9a-f]{12}(-\d+)?)?$/);
      // What a kill leaves in the killed batch's folder (a temp) is swept by its next attempt.
      const killed = await db.query<{ id: string; payload: { files: string[] } }>(
        `select id::text as id, payload from tasks where kind = 'backup.batch' and state = 'running'`,
      );
      expect(killed.length).toBeGreaterThan(0);
      const planted: string[] = [];
      const { config } = parseConfigText(KILLED_WORKER_CONFIG, cfg);
      for (const t of killed) {
        const rows = await db.query<{ id: string; instrument_id: string; project_id: string; mtime: Date }>(
          'select id, instrument_id, project_id, mtime from files where id = any($1::text[])',
          [t.payload.files],
        );
        for (const parent of new Set(rows.map((f) => path.dirname(backupLocation(config, f))))) {
          const dir = batchPartialDir(parent, t.id);
          await mkdir(dir, { recursive: true });
          await writeFile(path.join(dir, 'deadbeef0000'), 'left by a killed attempt');
          planted.push(dir);
        }
      }

      const second = await start();
      try {
        await waitFor(
          'every file done',
          async () => {
            const r = await db.query<{ n: string }>(
              `select count(*) as n from files where status = 'done_not_processed'`,
            );
            return Number(r[0]!.n) === FILES;
          },
          240_000,
          200,
        );
      } finally {
        second.kill('SIGTERM');
        await waitExit(second);
      }
      expect(await recordedAreTrue(db, digests)).toBe(FILES);
      const placed = await landed(backup);
      for (const [name, digest] of digests) expect(await sha256(placed.get(name)!)).toBe(digest);
      const all = await readdir(backup, { recursive: true });
      expect(all.filter((e) => String(e).includes('sluice-partial'))).toEqual([]);
      for (const dir of planted) expect(existsSync(dir)).toBe(false);
      // The killed batch's copies in place were re-hashed and associated, not copied again.
      const associated = await db.query(
        `select 1 from events where reason like 'associated existing backup%'`,
      );
      expect(associated.length).toBeGreaterThan(0);
      // The takeover is on the timeline of each file of a killed batch (none was recorded by it).
      for (const id of killed.flatMap((t) => t.payload.files)) {
        const cut = await db.query(
          `select 1 from events where subject_type = 'file' and subject_id = $1
             and reason like 'backup.batch: attempt % was cut short (%); taken over by %'`,
          [id],
        );
        expect(cut.length, `${id}: the takeover noted`).toBeGreaterThan(0);
      }
    } finally {
      first.kill('SIGKILL');
      await db.close();
    }
  });
});

describe('backup batches', () => {
  let p: Pipeline | undefined;
  afterAll(async () => {
    await p?.stop();
    await p?.close();
  });

  it('backs up small files found together in batches, each one copied, verified and recorded', async () => {
    p = await createPipeline(standardConfig());
    const watch = path.join(p.root, 'astral1');
    const names = Array.from({ length: 7 }, (_, i) => `new_${i}.raw`);
    for (const n of names) await writeFile(path.join(watch, n), `content of ${n}`);
    await p.start();
    for (const n of names) await p.waitStatus(n, 'done_not_processed');
    const batches = await p.db.query<{ payload: { files: string[] } }>(
      `select payload from tasks where kind = 'backup.batch' and state = 'succeeded'`,
    );
    // files declared acquired in the same scan (the newest may wait for its own stable window)
    const batched = batches.flatMap((b) => b.payload.files);
    expect(batched.length).toBeGreaterThanOrEqual(4);
    const singles = await p.db.query<{ subject: string }>(
      `select subject from tasks where kind = 'backup.copy'`,
    );
    expect([...batched, ...singles.map((t) => t.subject)].sort()).toEqual(names);
    for (const n of names) {
      const f = (await p.file(n))!;
      const digest = createHash('sha256').update(`content of ${n}`).digest('hex');
      expect(f.manifest!.entries[0]!.hash).toBe(digest);
      expect(await sha256(backupLocation(p.config, f))).toBe(digest);
      const rows = await p.db.query<{ state: string }>(`select state from copies where file_id = $1`, [n]);
      expect(rows).toEqual([{ state: 'verified' }]);
      expect((await p.timeline(n)).join('\n')).toMatch(/copied 1 file\(s\).*read back and verified/);
      // each `backed_up` event names its copy, as `backup.copy` records it (set-wise: per file data)
      const events = await p.db.query<{
        to_state: string;
        data: { location?: string } | null;
        reason: string;
      }>(
        `select to_state, data, reason from events where subject_id = $1 and to_state in ('backed_up', 'done_not_processed')`,
        [n],
      );
      expect(events.find((e) => e.to_state === 'backed_up')?.data).toEqual({
        location: backupLocation(p.config, f),
      });
      expect(events.find((e) => e.to_state === 'done_not_processed')?.reason).toMatch(
        /no processing settings/,
      );
    }
    // A batched file no processing applies to goes on to done_not_processed in its backed_up row
    // update (pipeline/flow.ts settledAtBackup): both events written together, next to each other,
    // by the same statement; the flow's own transition would write them apart, one statement per state.
    const pairs = await p.db.query<{ subject_id: string; ids: string[] }>(
      `select subject_id, array_agg(id::text order by id) as ids from events
       where subject_id = any($1::text[]) and to_state in ('backed_up', 'done_not_processed')
       group by subject_id`,
      [batched],
    );
    expect(pairs.length).toBe(batched.length);
    for (const { ids } of pairs) expect(Number(ids[1]) - Number(ids[0])).toBe(1);
  });
});
