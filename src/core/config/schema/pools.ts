/**
 * Config schema: `pools` (concurrency limits across all processes; 0 drains a pool).
 */
import { int, namedRecord, section } from './building-blocks.ts';

/** Concurrency limits per task pool; the config file's `pools:` is merged over these. */
export const DEFAULT_POOLS = { default: 10, copy: 3, cluster: 30, scan: 4, cleanup: 1, fixity: 1 } as const;

export type Pools = { [K in keyof typeof DEFAULT_POOLS]: number } & Record<string, number>;

export const poolsSchema = section(
  namedRecord(int(0, undefined, 'a pool size: an integer of 0 or more (0 pauses the pool)'), {
    pattern: /^[a-z][a-z0-9_.-]*$/,
    form: "lowercase letters, digits, '.', '-' and '_', starting with a letter",
    noun: 'pool name',
    values: 'their sizes',
  }).transform((p): Pools => ({ ...DEFAULT_POOLS, ...p })),
);
