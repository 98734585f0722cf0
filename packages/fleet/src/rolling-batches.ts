/**
 * The order a rolling change goes through a fleet: the first host alone (the barrier: it must
 * deploy and verify before any other host starts), then the others in the listed order,
 * `batchSize` at a time. Each batch runs in parallel; the next starts only when the whole batch
 * succeeded.
 */
export function rollingBatches<T>(hosts: readonly T[], batchSize: number): T[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const [first, ...rest] = hosts;
  if (first === undefined) return [];
  const batches: T[][] = [[first]];
  for (let i = 0; i < rest.length; i += batchSize) batches.push(rest.slice(i, i + batchSize));
  return batches;
}

/** Runs `work` over `items`, at most `limit` at once, in order; resolves with every result in order. */
export async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
