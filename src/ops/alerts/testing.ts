/** For the alert rules' tests: a snapshot with nothing in it, to which a test adds what it judges. */
import type { Snapshot } from './rules.ts';

export function emptySnapshot(now: Date, with_: Partial<Snapshot> = {}): Snapshot {
  return {
    now,
    workers: [],
    instruments: [],
    statusCounts: [],
    stuck: [],
    stuckTotal: 0,
    errorEvents: [],
    corruptCopies: [],
    failedTasks: [],
    disks: [],
    ...with_,
  };
}
