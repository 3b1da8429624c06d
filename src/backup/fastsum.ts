/**
 * The fast read-back checksum: 128 bits from two XXH3-64 streams with different seeds (the native
 * `@node-rs/xxhash` binding, SIMD, > 10 GB/s on one core, against ~2 GB/s for SHA-256 with SHA-NI).
 *
 * Why two seeded 64-bit streams and not XXH3-128: the binding streams only XXH3-64 (`Xxh3.digest()` is
 * a u64); its one-shot `xxh128` needs the whole file in memory and runs at SHA-256 speed. XXH3-128 on
 * long inputs derives both halves from ONE 512-bit accumulator; two seeds keep two accumulators with
 * different secrets, so an error has to collide in both. For errors that are not crafted (copy bugs,
 * short or misplaced writes, corruption) the chance that a damaged copy matches is ~2^-128, as for a
 * comparison of SHA-256 digests. It is no defence against someone crafting collisions, which is not
 * what the read-back is for: the recorded hash (sha256 by default) is still computed from the source
 * and `verifyCopy` re-checks copies with it.
 *
 * Where the binding cannot be loaded (a platform without a prebuilt binary), `fastChecksum()` returns
 * undefined and the read-back uses the recorded algorithm as before. The read-back thread loads the
 * same file by its resolved path (fast-hasher.mjs); its implementation must give the same digest as
 * `FastHasher` (readback.test.ts checks that).
 *
 * Crash points: none (pure computation).
 */
import { createRequire } from 'node:module';

/** Name of the read-back checksum in messages and in the read-back thread protocol. */
export const FAST_ALGORITHM = 'xxh3-64x2';
/** The two XXH3 seeds (any two different values; fixed so both threads agree). */
export const FAST_SEEDS: readonly [bigint, bigint] = [0n, 0x9e3779b97f4a7c15n];

interface Xxh3State {
  update(input: Uint8Array): unknown;
  digest(): bigint;
}
interface XxhashModule {
  xxh3: { Xxh3: { withSeed(seed?: bigint | null): Xxh3State } };
}

export interface FastChecksum {
  /** Absolute path of the binding's entry point, for the read-back thread's `require`. */
  path: string;
  create(): FastHasher;
}

/** Incremental fast checksum; `digest()` is 32 hex digits. */
export class FastHasher {
  private readonly a: Xxh3State;
  private readonly b: Xxh3State;
  constructor(mod: XxhashModule) {
    this.a = mod.xxh3.Xxh3.withSeed(FAST_SEEDS[0]);
    this.b = mod.xxh3.Xxh3.withSeed(FAST_SEEDS[1]);
  }
  update(data: Uint8Array): this {
    this.a.update(data);
    this.b.update(data);
    return this;
  }
  digest(): string {
    return hex64(this.a.digest()) + hex64(this.b.digest());
  }
}

const hex64 = (v: bigint) => v.toString(16).padStart(16, '0');

/** The `workerData` that the threads' `fastHasher` (fast-hasher.mjs) needs. */
export function fastWorkerData(): {
  fastName: string;
  fastPath: string | undefined;
  fastSeeds: readonly bigint[];
} {
  return { fastName: FAST_ALGORITHM, fastPath: fastChecksum()?.path, fastSeeds: FAST_SEEDS };
}

/** XXH3-64 of the empty input with seed 0 (reference value from xxHash). */
const EMPTY_XXH3_64 = 0x2d06800538d394c2n;

/**
 * Load the binding `id` (tests pass a missing one); returns the checksum, or the reason it is not
 * available. Never throws.
 */
export function loadFastChecksum(id = '@node-rs/xxhash'): FastChecksum | { error: string } {
  try {
    const req = createRequire(import.meta.url);
    const path = req.resolve(id);
    const mod = req(path) as XxhashModule;
    const probe = mod.xxh3.Xxh3.withSeed(0n);
    if (probe.digest() !== EMPTY_XXH3_64) return { error: `${id}: XXH3 self-test failed` };
    return { path, create: () => new FastHasher(mod) };
  } catch (err) {
    return { error: `${id} cannot be loaded: ${err instanceof Error ? err.message : String(err)}` };
  }
}

let cached: FastChecksum | { error: string } | undefined;

/** The fast checksum of this process (loaded once), or undefined with `reason()` telling why. */
export function fastChecksum(): FastChecksum | undefined {
  cached ??= loadFastChecksum();
  return 'error' in cached ? undefined : cached;
}

/** Why `fastChecksum()` is undefined (for the debug log). */
export function fastChecksumError(): string | undefined {
  cached ??= loadFastChecksum();
  return 'error' in cached ? cached.error : undefined;
}
