/**
 * Doctor check `worker tags`: an instrument with tags is scanned, copied and cleaned only by a
 * worker that carries all of them. With workers running but none carrying an instrument's tags, that
 * instrument's files wait for ever: a failure. With no worker running at all (doctor before the
 * first start), a warning. `judgeWorkerTags` decides; `checkWorkerTags` reads the live workers.
 */
import type { Config } from '../../core/config/index.ts';
import type { Db } from '../../core/db/db.ts';
import { liveWorkerTags } from '../../engine/processes.ts';
import { type CheckResult, fail, ok, warn } from './result.ts';

/** A worker process seen alive (heartbeat within the lease). */
export interface LiveWorker {
  id: string;
  host: string;
  tags: string[];
}

/** One row per tagged instrument, given the workers alive. */
export function judgeWorkerTags(
  tagged: readonly [id: string, inst: { tags: readonly string[]; watch: string }][],
  live: readonly LiveWorker[],
): CheckResult[] {
  return tagged.map(([id, inst]) => {
    const target = `${id}: ${inst.tags.join(',')}`;
    const start = `sluice start --role worker --tags ${inst.tags.join(',')}`;
    if (live.length === 0)
      return warn(
        'worker tags',
        target,
        'no worker is running yet',
        `on the machine that mounts ${inst.watch}: ${start}`,
      );
    const carriers = live.filter((w) => inst.tags.every((t) => w.tags.includes(t)));
    if (carriers.length === 0)
      return fail(
        'worker tags',
        target,
        `${live.length} worker(s) running, none with tags ${inst.tags.join(',')}: this instrument's scans, copies and clean-up wait`,
        `on the machine that mounts ${inst.watch}: ${start}`,
      );
    return ok('worker tags', target, `served by ${carriers.map((w) => `${w.id} on ${w.host}`).join(', ')}`);
  });
}

/** The rows for the config's tagged instruments (none when no instrument has tags). */
export async function checkWorkerTags(db: Db, config: Config): Promise<CheckResult[]> {
  const tagged = Object.entries(config.instruments).filter(([, i]) => i.tags.length > 0);
  if (tagged.length === 0) return [];
  const live: LiveWorker[] = await liveWorkerTags(db, config.worker.lease_seconds);
  return judgeWorkerTags(tagged, live);
}
