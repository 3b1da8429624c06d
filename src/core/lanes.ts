/** Bounded concurrency for independent async steps. */

/**
 * Run `fn` over `items`, at most `lanes` at once, in list order. After a failure no further item
 * starts, every call in flight ends before this returns (e.g. no descriptor is left open when the
 * caller cleans up), and the failure of the earliest item is thrown.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  fn: (item: T, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: { i: number; err: unknown }[] = [];
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async (_, lane) => {
      while (errors.length === 0 && next < items.length) {
        const i = next++;
        try {
          await fn(items[i]!, lane);
        } catch (err) {
          errors.push({ i, err });
        }
      }
    }),
  );
  if (errors.length > 0) throw errors.sort((a, b) => a.i - b.i)[0]!.err;
}
