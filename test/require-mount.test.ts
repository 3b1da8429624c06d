/**
 * `require_mount`: a network share that is not mounted leaves an empty local folder behind. With
 * `require_mount: true` the instrument is offline until the share is mounted (a real tmpfs mount
 * here, which needs root), instead of being watched as an empty folder.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const isRoot = process.getuid?.() === 0;
let p: Pipeline | undefined;
let mounted: string | undefined;
afterEach(async () => {
  await p?.stop();
  if (mounted) execFileSync('umount', [mounted]);
  mounted = undefined;
  await p?.close();
  p = undefined;
});

describe('require_mount', () => {
  it.skipIf(!isRoot && !process.env.CI)(
    'keeps an instrument offline until its share is mounted, then picks up its files',
    async () => {
      p = await createPipeline(
        (root) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
instruments:
  astral1:
    type: thermo
    watch: ${root}/astral1
    require_mount: true
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 0.3 }
`,
      );
      const dir = path.join(p.root, 'astral1');
      await writeFile(path.join(dir, 'local-leftover.raw'), 'on the local disk, not on the share');
      await p.start();
      const state = () =>
        p!.db.one<{ online: boolean | null; offline_reason: string | null }>(
          `select online, offline_reason from instruments where id = 'astral1'`,
        );
      await waitFor('astral1 offline', async () => (await state()).online === false);
      expect((await state()).offline_reason).toContain('is not a mount point (require_mount is set)');
      expect(await p.file('local-leftover.raw')).toBeUndefined();

      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
      mounted = dir;
      await writeFile(path.join(dir, 'on-share.raw'), 'acquired on the instrument');
      await p.waitStatus('on-share.raw', 'done_not_processed');
      expect((await state()).online).toBe(true);
      expect(await p.file('local-leftover.raw')).toBeUndefined(); // hidden under the mount now
    },
  );
});
