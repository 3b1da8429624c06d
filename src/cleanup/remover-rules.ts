/**
 * The remover's decisions, pure: whether a pass may run at all (instrument, instance mode,
 * environment), whether the free space is enough, how a file-system error is classed, and when
 * repeated errors stop the pass. Which copies may go is decided on what the remover reads (both
 * copies verified: remove-copy.ts); these rules say when it looks at all.
 */
import type { Config } from '../core/config/index.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import { ownEntry } from '../core/own.ts';

export const GB = 1024 ** 3;

/** Why no pass runs for instrument `id` (undefined: it runs). */
export function passRefusal(config: Config, id: string): string | undefined {
  const inst = ownEntry(config.instruments, id);
  if (!inst) return `no instrument '${id}' in the config`;
  if (isFallback(config)) return FALLBACK_KEEPS_DATA;
  if (!inst.cleanup.enabled) return `cleanup is not enabled for ${id} (instruments.${id}.cleanup.enabled)`;
  if (config.environment !== 'production' && !config.cleanup.allow_outside_production) {
    return `environment is '${config.environment}': removal runs only in production unless cleanup.allow_outside_production is true`;
  }
  return undefined;
}

/** The free space is enough, so the pass stops (unless forced to take every candidate old enough). */
export function spaceEnough(freeBytes: number, minFreeGb: number, force: boolean | undefined): boolean {
  return freeBytes >= minFreeGb * GB && !force;
}

/** A file-system error while moving or deleting: a read-only file system, missing permissions, or else. */
export type FailureKind = 'read-only' | 'permission' | 'other';

export function failureKind(code: string | undefined): FailureKind {
  return code === 'EROFS' ? 'read-only' : code === 'EACCES' || code === 'EPERM' ? 'permission' : 'other';
}

/** What the timeline tells the operator about a failure of this kind. */
export function failureHint(kind: FailureKind): string {
  return kind === 'other'
    ? 'the next remover pass tries again'
    : 'the remover needs write access to the instrument folder (a read-only share cannot be cleaned up): give the Sluice user write access, or set cleanup.enabled: false for this instrument';
}

/**
 * Whether a failure stops the pass: a read-only file system at once, missing permissions on the
 * third (`permissionFailures` counts this one), anything else never.
 */
export function stopsPass(kind: FailureKind, permissionFailures: number): boolean {
  return kind === 'read-only' || (kind === 'permission' && permissionFailures >= 3);
}
