/**
 * Worker tags pin an instrument's work to the machines that mount it: a worker without the
 * instrument's tag never scans or copies for it; one with the tag does.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/log.ts';
import { Worker } from '../src/engine/worker.ts';
import { collect } from '../src/runtime/handlers.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline | undefined;
const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(1000);
  await p?.close();
  p = undefined;
});

describe('worker tags', () => {
  it('only a worker with the instrument tag scans and backs up that instrument', async () => {
    p = await createPipeline(
      (root) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
instruments:
  pinned:
    type: thermo
    watch: ${root}/pinned
    tags: [instrument:pinned]
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.3 }
`,
    );
    await writeFile(path.join(p.root, 'pinned', 'x.raw'), 'data');
    const stage = collect(p.config, p.vars, {
      baseDir: p.root,
      executor: async () => {
        throw new Error('no processing here');
      },
    });
    const { ensureSchedules } = await import('../src/engine/schedules.ts');
    await ensureSchedules(p.db, stage.schedules);
    const make = (tags: string[]) => {
      const w = new Worker({
        db: p!.db,
        log: silentLogger,
        handlers: stage.handlers,
        tags,
        pollMs: 100,
        scheduleTickMs: 50,
      });
      workers.push(w);
      return w;
    };
    await make([]).start(); // the wrong machine
    await new Promise((r) => setTimeout(r, 1500));
    expect(await p.file('x.raw')).toBeUndefined();
    const scans = await p.db.query<{ state: string; tags: string[] }>(
      `select state, tags from tasks where kind = 'intake.scan'`,
    );
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.every((t) => t.state === 'queued' && t.tags.includes('instrument:pinned'))).toBe(true);
    await make(['instrument:pinned']).start(); // the machine that mounts it
    const f = await p.waitStatus('x.raw', 'done_not_processed');
    const owners = await p.db.query<{ kind: string }>(
      `select distinct kind from tasks where state = 'succeeded' and 'instrument:pinned' = any(tags)`,
    );
    expect(owners.map((o) => o.kind).sort()).toEqual(['backup.copy', 'intake.scan']);
    expect(f.status).toBe('done_not_processed');
  });
});
