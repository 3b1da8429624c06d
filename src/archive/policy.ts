/**
 * Archive policies, decided (pure): which policies cover a file, when a file is due on each of their
 * targets, and which due items go into the next archive (bounded by the target's archive size; a file
 * larger than that gets an archive of its own, never split).
 */
import type { ArchiveConfig, ArchivePolicy } from '../core/config/schema/archive.ts';
import type { NewItem } from './repo.ts';

/** The facts of a file a policy looks at. */
export interface PolicyFile {
  id: string;
  project_id: string;
  instrument_id: string;
  size_bytes: string | number;
  acquired_at: Date | null;
}

/** Does `p` cover `f` (its projects and instruments; an empty list covers all)? */
export function covers(p: Pick<ArchivePolicy, 'projects' | 'instruments'>, f: PolicyFile): boolean {
  return (
    (p.projects.length === 0 || p.projects.includes(f.project_id)) &&
    (p.instruments.length === 0 || p.instruments.includes(f.instrument_id))
  );
}

/**
 * The items `event` makes due for `f`: after its backup (`backed_up`), after its processing
 * (`processed`), or N days after acquisition (`pass`, the scheduled pass, given `now`).
 */
export function itemsFor(
  archive: Pick<ArchiveConfig, 'policies'>,
  f: PolicyFile,
  event: 'backed_up' | 'processed' | 'pass',
  now: Date,
): NewItem[] {
  const out: NewItem[] = [];
  for (const p of archive.policies) {
    if (!covers(p, f)) continue;
    let dueAt: Date | undefined;
    if (p.when === 'after_backup' && event === 'backed_up') dueAt = now;
    if (p.when === 'after_processing' && event === 'processed') dueAt = now;
    if (p.when === 'days_after_acquisition' && (event === 'pass' || event === 'backed_up')) {
      const from = f.acquired_at ?? now;
      dueAt = new Date(from.getTime() + p.days * 86_400_000);
    }
    if (!dueAt) continue;
    for (const target of p.targets) {
      if (out.some((i) => i.target === target)) continue; // the first policy naming a target wins
      out.push({ fileId: f.id, target, policy: p.name, dueAt, bytes: Number(f.size_bytes) });
    }
  }
  return out;
}

/** The due items (oldest first) that go into one archive of at most `limitBytes`. */
export function takeForArchive<T extends { bytes: string | number }>(
  items: readonly T[],
  limitBytes: number,
): T[] {
  const out: T[] = [];
  let sum = 0;
  for (const i of items) {
    const b = Number(i.bytes);
    if (out.length > 0 && sum + b > limitBytes) continue;
    out.push(i);
    sum += b;
    if (sum >= limitBytes) break;
  }
  return out;
}
