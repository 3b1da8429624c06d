/**
 * An empty raw file (0 bytes) that stays empty ends `acquisition_failed` after
 * `acquisition.empty_file_timeout_seconds` instead of staying `acquiring` for ever; data written
 * under its name later is a new record, backed up as usual (real scans, real PostgreSQL).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('an empty raw file', () => {
  it('ends acquisition_failed after empty_file_timeout_seconds; bytes written later are a new record', async () => {
    p = await createPipeline(
      (root) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
instruments:
  astral1:
    type: thermo
    watch: ${root}/astral1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.3, empty_file_timeout_seconds: 1 }
`,
    );
    const file = path.join(p.root, 'astral1', 'blank.raw');
    await writeFile(file, '');
    await p.start();
    const f = await p.waitStatus('blank.raw', 'acquisition_failed');
    expect(f.status_reason).toMatch(
      /^still empty \(0 bytes\) and unchanged after \d+ s \(empty_file_timeout_seconds 1\)/,
    );
    await writeFile(file, 'the data arrived after all');
    const later = await waitFor('a new record of blank.raw', () =>
      p!.db.maybeOne<{ id: string }>(`select id from files where name = 'blank.raw' and id <> 'blank.raw'`),
    );
    const g = await p.waitStatus(later.id, 'done_not_processed');
    expect(Number(g.size_bytes)).toBe('the data arrived after all'.length);
    expect((await p.file('blank.raw'))!.status).toBe('acquisition_failed');
  });
});
