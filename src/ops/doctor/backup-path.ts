/**
 * Doctor check `backup path`: the right disk (src/backup/target.ts: mounted when
 * `backup.require_mount`, the marker `.sluice-backup-target` names this instance), then writable.
 * The same for each filesystem target of `backup.targets` (`backup target <name>`).
 */
import { fsTargetPlace } from '../../backup/fs-target/place.ts';
import { checkBackupTarget } from '../../backup/target.ts';
import type { Config } from '../../core/config/index.ts';
import type { FsTargetConfig } from '../../core/config/schema/backup-targets.ts';
import type { Db } from '../../core/db/db.ts';
import { type CheckResult, fail } from './result.ts';
import { checkWritable } from './writable.ts';

/**
 * The backup path is the right disk (target.ts: mounted when required, the marker names this
 * instance, or would be written by the first copy), and then writable. A failing target is not
 * probed for writing: the probe would land on the wrong disk.
 */
export async function checkBackupPath(
  config: Config,
  db: Db | undefined,
  pid: number = process.pid,
): Promise<CheckResult> {
  const target = `backup.path: ${config.backup.path}`;
  const t = await checkBackupTarget(config, db, { write: false });
  if (!t.ok) return fail('backup path', target, `backup target unavailable: ${t.reason}`, t.hint);
  const r = await checkWritable('backup path', 'backup.path', config.backup.path, pid);
  if (r.status !== 'ok') return r;
  if (t.wrote) return { ...r, detail: `${r.detail}; no marker yet: the first copy writes it (${t.wrote})` };
  return { ...r, detail: `${r.detail}; its marker names this instance ('${config.instance.name}')` };
}

/** A filesystem target of `backup.targets`: the right disk (as the backup path), then writable. */
export async function checkFsTarget(
  config: Config,
  t: FsTargetConfig,
  db: Db | undefined,
  pid: number = process.pid,
): Promise<CheckResult> {
  const name = `backup target ${t.name}`;
  const where = `backup.targets (${t.name}).path: ${t.path}`;
  const s = await checkBackupTarget(config, db, { write: false, place: fsTargetPlace(t) });
  if (!s.ok) return fail(name, where, `backup target unavailable: ${s.reason}`, s.hint);
  const r = await checkWritable(name, `backup.targets (${t.name}).path`, t.path, pid);
  if (r.status !== 'ok') return r;
  if (s.wrote) return { ...r, detail: `${r.detail}; no marker yet: the first copy writes it` };
  return { ...r, detail: `${r.detail}; its marker names this instance ('${config.instance.name}')` };
}
