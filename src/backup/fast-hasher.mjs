// @ts-check
/**
 * The fast read-back checksum for the copy's thread bodies (readback-, writer- and
 * small-files-thread-body.mjs): `fastHasher()` gives the same digest as fastsum.ts's FastHasher, from
 * the binding at `workerData.fastPath` with the seeds `workerData.fastSeeds` (`fastWorkerData()`), and
 * throws when the binding is not available; `createHasher(algorithm)` is that for FAST_ALGORITHM,
 * else `crypto`'s hash. Either one's `digest('hex')` is hex.
 *
 * Plain JavaScript, type-checked from its JSDoc (`@ts-check`), so threads need no TypeScript loader.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';

/**
 * @typedef {{ update(d: Uint8Array): unknown; digest(): bigint }} Xxh3State
 * @typedef {{ xxh3: { Xxh3: { withSeed(seed: bigint): Xxh3State } } }} XxhashModule
 * @typedef {{ update(d: Uint8Array): unknown; digest(): string }} FastHasher
 * @typedef {{ update(d: Uint8Array): unknown; digest(encoding: 'hex'): string }} Hasher
 * @typedef {{ fastName: string; fastPath: string | undefined; fastSeeds: readonly bigint[] }} FastData
 */

const data = /** @type {FastData} */ (workerData);
const require = createRequire(import.meta.url);

/** @type {XxhashModule | undefined} */
let xxh;

/** @param {bigint} v */
const hex = (v) => v.toString(16).padStart(16, '0');

/** @returns {FastHasher} */
export function fastHasher() {
  if (!data.fastPath) throw new Error('the fast read-back checksum is not available');
  xxh ??= /** @type {XxhashModule} */ (require(data.fastPath));
  const mod = xxh;
  const [a, b] = data.fastSeeds.map((s) => mod.xxh3.Xxh3.withSeed(s));
  if (!a || !b) throw new Error('the fast read-back checksum needs two seeds');
  return {
    update(d) {
      a.update(d);
      b.update(d);
    },
    digest() {
      return hex(a.digest()) + hex(b.digest());
    },
  };
}

/**
 * @param {string} algorithm
 * @returns {Hasher}
 */
export function createHasher(algorithm) {
  return algorithm === data.fastName ? fastHasher() : createHash(algorithm);
}
