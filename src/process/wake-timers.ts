/**
 * Timers a process keeps to wake a task when it is due (the poll's next round, tasks.ts), cleared
 * when the worker stops: a stopped worker leaves no timer behind that would reach for its closed
 * database. The timers are unref'd (they never keep a process alive) and only a hint: a task whose
 * timer is cleared is still due in its row, and a worker claims it at its next look.
 */
export interface WakeTimers {
  /** Runs `fn` after `ms` unless stopped first; nothing once stopped. */
  later(ms: number, fn: () => void): void;
  /** Timers not yet fired or cleared. */
  pending(): number;
}

export function wakeTimers(signal?: AbortSignal): WakeTimers {
  const timers = new Set<NodeJS.Timeout>();
  signal?.addEventListener(
    'abort',
    () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    { once: true },
  );
  return {
    later(ms, fn) {
      if (signal?.aborted) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timer.unref();
      timers.add(timer);
    },
    pending: () => timers.size,
  };
}
