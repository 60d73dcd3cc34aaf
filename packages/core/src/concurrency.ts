/**
 * Calls `work` on every item with at most `limit` calls pending at once, and
 * returns the results in the order of `items`.
 *
 * After a call fails, no further call starts. The calls already running are
 * awaited, then the first failure is thrown, so no work continues in the
 * background once this function has settled.
 *
 * @param limit - calls pending at once, at least 1.
 * @throws the first error thrown by `work`.
 * @example
 * const keys = await mapConcurrently(actions, 8, (action) => openAction(action));
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;

  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));

  if (failure !== undefined) {
    throw failure.error;
  }
  return results;
}
