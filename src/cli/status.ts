/**
 * `sluice status`: processes, queues and pools at a glance, and each extra backup target's progress
 * (`--json` for scripts).
 */
import type { Command } from 'commander';
import { type TargetProgress, targetProgress } from '../backup/s3/progress.ts';
import { type IndexBacklog, indexBacklog } from '../catalog/search-index.ts';
import { FALLBACK_KEEPS_DATA } from '../core/instance.ts';
import { statusSnapshot } from '../engine/status.ts';
import { listInstruments } from '../files/repo.ts';
import { withContext } from './context.ts';
import { ago, printJson, printTable } from './output.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      "live processes with their last heartbeat, pools used/size, queue depth and oldest waiting task per kind, each backup target's progress (copied, queued/running, failing), sample changes the catalog search index has still to take",
    )
    .option('--json', 'machine-readable output')
    .option('--all', 'also list processes found dead more than 24 h ago')
    .action(async (opts: { json?: boolean; all?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const { processes, pools, queues } = await statusSnapshot(
          db,
          config.worker.lease_seconds * 1000 * 2,
          {
            allDead: opts.all === true,
          },
        );
        const fallback =
          config.instance.mode === 'fallback' || processes.some((p) => p.alive && p.mode === 'fallback');
        const instance = { mode: fallback ? 'fallback' : 'normal' };
        // instruments that cannot be read, or whose copies wait for the backup target
        const problems = (await listInstruments(db)).flatMap((i) => [
          ...(i.online === false
            ? [{ instrument: i.id, problem: `offline: ${i.offline_reason ?? '?'}` }]
            : []),
          ...(i.backup_target_problem
            ? [{ instrument: i.id, problem: `backups wait: ${i.backup_target_problem}` }]
            : []),
        ]);
        const targets = await targetProgress(db, config);
        const searchIndex = await indexBacklog(db);
        if (opts.json) {
          printJson({ instance, processes, pools, queues, problems, targets, search_index: searchIndex });
          return;
        }
        if (problems.length > 0) {
          process.stdout.write('PROBLEMS\n');
          printTable(problems);
          process.stdout.write('\n');
        }
        if (fallback) process.stdout.write(`INSTANCE: FALLBACK — ${FALLBACK_KEEPS_DATA}\n\n`);
        process.stdout.write('PROCESSES\n');
        printTable(
          processes.map((p) => ({
            id: p.id,
            role: p.role,
            mode: p.mode,
            tags: p.tags.join(',') || '-',
            running: p.running,
            heartbeat: p.dead_at
              ? `DEAD (found ${ago(p.dead_at)}${p.death ? `: ${p.death}` : ''}); last heartbeat ${ago(p.last_heartbeat_at)}`
              : `${ago(p.last_heartbeat_at)}${p.alive ? '' : ' (STALE)'}`,
          })),
          '(no process is running: start one with `sluice start`)',
        );
        process.stdout.write('\nPOOLS\n');
        printTable(
          pools.map((p) => ({
            pool: p.name,
            used: `${p.running}/${p.size}`,
            queued: p.queued,
            note: p.size === 0 ? 'drained' : '',
          })),
        );
        process.stdout.write('\nQUEUES\n');
        printTable(
          queues.map((q) => ({
            kind: q.kind,
            queued: q.queued,
            running: q.running,
            'failed 24h': q.failed_24h,
            'oldest waiting': q.oldest_waiting_s === null ? '-' : `${q.oldest_waiting_s} s`,
          })),
          '(no work waiting)',
        );
        printTargets(targets);
        printSearchIndex(searchIndex);
      });
    });
}

/** What a target's row says, most urgent first (the dashboard's panel says the same). */
function targetNote(t: TargetProgress): string {
  if (t.waiting > 0)
    return `waiting: ${t.waiting} copies wait for the target to be usable (mounted, marker present); see sluice doctor`;
  return t.copied < t.files ? `catching up: ${t.files - t.copied} to copy` : 'complete';
}

/** Each extra backup target's progress (the dashboard's "Backup targets" panel shows the same). */
function printTargets(targets: TargetProgress[]): void {
  if (targets.length === 0) return;
  process.stdout.write('\nBACKUP TARGETS\n');
  printTable(
    targets.map((t) => ({
      target: t.target,
      copied: `${t.copied}/${t.files}`,
      'queued/running': `${t.queued}/${t.running}`,
      failing: t.failing,
      note: targetNote(t),
    })),
  );
}

/** Sample changes the catalog search index has still to take (catalog/search-index.ts). */
function printSearchIndex(b: IndexBacklog): void {
  const pending = b.queued + b.unqueued;
  if (pending === 0) return;
  const oldest = b.oldest_s === null ? '' : ` (oldest ${b.oldest_s} s)`;
  process.stdout.write(`\nCATALOG SEARCH INDEX: updating, ${pending} sample change(s) pending${oldest}\n`);
}
