/**
 * The remover's check of the other backup targets `cleanup.require` names (besides the filesystem
 * backup, which remove-copy.ts re-reads): each must hold a verified copy of the file, and that copy
 * is read back in full against the recorded hashes — from storage for a filesystem target
 * (verify.ts), from its store for an S3 target (s3/verify.ts) — recorded as a
 * fixity check of the copy. A copy that does not match is marked `corrupt`; a missing copy or a store
 * that cannot be reached keeps the instrument copy (the next pass looks again). `requiredTargets`
 * is the pure part: which targets to check.
 */
import { archivedOn } from '../archive/repo.ts';
import { recordCheck } from '../backup/fixity.ts';
import { fsTargetPlace } from '../backup/fs-target/place.ts';
import { verifyS3Copy } from '../backup/s3/verify.ts';
import type { ReadMode } from '../backup/storage-read.ts';
import { checkBackupTarget, targetUnavailable } from '../backup/target.ts';
import { verifyCopy } from '../backup/verify.ts';
import type { Config } from '../core/config/index.ts';
import { FILESYSTEM_TARGET, fsTargets, s3Targets } from '../core/config/schema/backup-targets.ts';
import type { Db } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import { markVerifiedCopyCorrupt } from '../files/copies.ts';
import { type CopyRow, getFile, verifiedCopy } from '../files/repo.ts';
import type { SourceKind } from '../storage/raw-data.ts';

const ACTOR = 'remover';

/**
 * An archive target named in `cleanup.require`: the file must be in an archive that was read back
 * and verified member by member when it was written (cold classes cannot be re-read before a
 * deletion without a restore; the archive's write-time verification is what counts).
 */
async function checkArchived(db: Db, fileId: string, target: string): Promise<TargetCheck> {
  const a = await archivedOn(db, fileId, target);
  return a
    ? { target, ok: true }
    : {
        target,
        ok: false,
        problem: `not in a verified archive on archive target ${target} yet (cleanup.require)`,
      };
}

/**
 * A required target's copy read back: a filesystem target's from storage (its whole target missing —
 * unmounted — is an error: nothing concluded, nothing marked), an S3 target's from its store.
 */
async function readBackTarget(
  config: Config,
  copy: CopyRow,
  kind: SourceKind | undefined,
  signal: AbortSignal | undefined,
): Promise<{ ok: boolean; problems: string[]; read?: ReadMode; bytes?: number }> {
  const t = fsTargets(config.backup.targets).find((x) => x.name === copy.target);
  if (!t) return verifyS3Copy(s3Targets(config.backup.targets), copy, { signal });
  if (!kind) return { ok: false, problems: [`the file ${copy.file_id} is not recorded any more`] };
  const r = await verifyCopy(copy.location, kind, copy.manifest, { signal, fromStorage: {} });
  if (r.ok) return { ...r, problems: [] };
  const s = await checkBackupTarget(config, undefined, { write: false, place: fsTargetPlace(t) });
  if (!s.ok) throw targetUnavailable(s);
  return r;
}

/** The targets besides the filesystem backup whose copy must verify before a deletion. */
export function requiredTargets(config: Pick<Config, 'cleanup'>): string[] {
  return config.cleanup.require.filter((t) => t !== FILESYSTEM_TARGET);
}

/** One required target's state for a file: verified now, or why not. */
export interface TargetCheck {
  target: string;
  ok: boolean;
  problem?: string;
}

/** Checks every required target's copy of `fileId` (see the module comment). */
export async function checkRequiredTargets(
  db: Db,
  config: Config,
  fileId: string,
  signal: AbortSignal | undefined,
): Promise<TargetCheck[]> {
  const out: TargetCheck[] = [];
  for (const target of requiredTargets(config)) {
    if (config.archive.targets.some((t) => t.name === target)) {
      out.push(await checkArchived(db, fileId, target));
      continue;
    }
    const copy = await verifiedCopy(db, fileId, target);
    if (!copy) {
      out.push({
        target,
        ok: false,
        problem: `no verified copy on backup target ${target} yet (cleanup.require)`,
      });
      continue;
    }
    const started = Date.now();
    let r: { ok: boolean; problems: string[]; read?: ReadMode; bytes?: number };
    try {
      r = await readBackTarget(config, copy, (await getFile(db, fileId))?.kind, signal);
    } catch (err) {
      out.push({
        target,
        ok: false,
        problem: `backup target ${target} could not be read: ${errorMessage(err)}`,
      });
      continue;
    }
    await db.tx(async (tx) => {
      await recordCheck(tx, {
        copyId: copy.id,
        fileId,
        actor: ACTOR,
        ok: r.ok,
        read: r.read,
        bytes: r.bytes ?? (r.ok ? Number(copy.bytes) : 0),
        seconds: (Date.now() - started) / 1000,
        ...(r.ok ? {} : { problems: r.problems }),
      });
      if (!r.ok) await markVerifiedCopyCorrupt(tx, copy.id);
    });
    out.push(
      r.ok
        ? { target, ok: true }
        : {
            target,
            ok: false,
            problem: `the copy on ${target} does not match (marked corrupt): ${r.problems.slice(0, 3).join('; ')}`,
          },
    );
  }
  return out;
}
