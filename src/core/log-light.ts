/**
 * The logger of read-only commands (cli/context.ts withDatabase), which loads pino only when it is
 * first used: such a command logs nothing at its level (warn by default) when all goes well, and
 * loading pino is ~15 ms of CPU of its ~190 ms start. A record at an enabled level, or any other
 * use than a record at a disabled level, `level` or `child`, loads pino then (synchronously from
 * node_modules, ~50 ms, once) and from there on it is the logger createLogger (core/log.ts) makes,
 * writing the same records to the same place.
 */
import { createRequire } from 'node:module';
import type PinoModule from 'pino';
import type { Logger } from './log.ts';
import { LEVEL_VALUES, logLevelFrom, sluiceLogger } from './log-levels.ts';

const noop = () => undefined;

/** A logger (core/log.ts createLogger's options) that loads pino when it first has to. */
export function lightLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = logLevelFrom(opts.level);
  return deferredLogger(
    () => sluiceLogger(createRequire(import.meta.url)('pino') as typeof PinoModule, { ...opts, level }),
    level,
  );
}

/** Stands for the logger `make` returns, making it only when a record or a setting needs it. */
export function deferredLogger(make: () => Logger, level: string): Logger {
  let real: Logger | undefined;
  const load = () => {
    real ??= make();
    return real;
  };
  const threshold = LEVEL_VALUES[level] ?? 0;
  return new Proxy({} as Logger, {
    get(_t, prop) {
      if (!real) {
        if (prop === 'level') return level;
        if (prop === 'isLevelEnabled') return (l: string) => (LEVEL_VALUES[l] ?? 0) >= threshold;
        if (prop === 'child')
          return (bindings: object, o?: { level?: string }) =>
            deferredLogger(() => load().child(bindings, o), o?.level ?? level);
        const record = typeof prop === 'string' ? LEVEL_VALUES[prop] : undefined;
        if (record !== undefined && record < threshold) return noop; // a record at a disabled level
      }
      const r = load();
      const v: unknown = Reflect.get(r, prop, r);
      return typeof v === 'function' ? v.bind(r) : v;
    },
    set(_t, prop, value) {
      return Reflect.set(load(), prop, value);
    },
  });
}
