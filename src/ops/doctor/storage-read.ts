/** Doctor check `backup storage read`: the backup path reads from storage (O_DIRECT), else a warning. */
import { promises as fsp } from 'node:fs';
import { probeStorageRead } from '../../backup/storage-read.ts';
import type { Config } from '../../core/config/index.ts';
import { errorMessage } from '../../core/errors.ts';
import { type CheckResult, ok, warn } from './result.ts';

/**
 * Can the remover and the fixity audits read the backup from storage (O_DIRECT)? Where the
 * filesystem refuses, reads go through the page cache; with cleanup.require_storage_read the remover
 * then keeps every instrument copy (src/backup/storage-read.ts).
 */
export async function checkStorageRead(config: Config): Promise<CheckResult> {
  const check = 'backup storage read';
  const target = `backup.path: ${config.backup.path}`;
  const st = await fsp.stat(config.backup.path).catch(() => undefined);
  if (!st) return ok(check, target, 'not checked: the backup path does not exist yet');
  // a backup path that is no folder (or not writable) fails the 'backup path' check: one row says so
  if (!st.isDirectory()) return ok(check, target, 'not checked: the backup path is not a folder');
  let r: Awaited<ReturnType<typeof probeStorageRead>>;
  try {
    r = await probeStorageRead(config.backup.path);
  } catch (err) {
    return ok(check, target, `not checked: cannot write a probe there (${errorMessage(err)})`);
  }
  if (r.read === 'direct')
    return ok(check, target, 'reads from storage (O_DIRECT): verifications bypass the page cache');
  const removing = Object.values(config.instruments).some((i) => i.cleanup.enabled);
  return warn(
    check,
    target,
    `reads only through the page cache: ${r.fallback ?? 'O_DIRECT refused'}${
      removing && config.cleanup.require_storage_read
        ? '; with cleanup.require_storage_read the remover keeps every instrument copy'
        : ''
    }`,
    'put the backups on storage that allows O_DIRECT, or set cleanup.require_storage_read: false to accept reads through the page cache (docs/intake-and-backup.md, "Verified from storage")',
  );
}
