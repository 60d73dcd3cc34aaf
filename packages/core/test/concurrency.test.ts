import { describe, expect, it } from 'vitest';

import { mapConcurrently } from '../src/concurrency.js';

/** Resolves after the given number of event-loop turns, to interleave calls. */
async function turns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('mapConcurrently', () => {
  it('returns results in input order', async () => {
    const results = await mapConcurrently([5, 1, 3, 0, 2], 3, async (value, index) => {
      await turns(value);
      return `${index}:${value}`;
    });

    expect(results).toEqual(['0:5', '1:1', '2:3', '3:0', '4:2']);
  });

  it('keeps at most limit calls pending', async () => {
    let pending = 0;
    let maxPending = 0;

    await mapConcurrently(
      Array.from({ length: 20 }, (_, index) => index),
      4,
      async (value) => {
        pending += 1;
        maxPending = Math.max(maxPending, pending);
        await turns(1 + (value % 3));
        pending -= 1;
      },
    );

    expect(maxPending).toBe(4);
  });

  it('starts no call after a failure and waits for running ones', async () => {
    const started: number[] = [];
    const finished: number[] = [];

    const attempt = mapConcurrently([0, 1, 2, 3, 4, 5], 2, async (value) => {
      started.push(value);
      if (value === 1) {
        throw new RangeError('value 1 failed');
      }
      await turns(3);
      finished.push(value);
    });

    await expect(attempt).rejects.toThrow(RangeError);
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });

  it('returns an empty list for no items', async () => {
    const results = await mapConcurrently([], 4, async () => 1);

    expect(results).toEqual([]);
  });
});
