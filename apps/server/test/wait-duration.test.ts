import { describe, expect, it } from 'vitest';

import { formatWaitDuration } from '../src/errors/wait-duration.js';

describe('formatWaitDuration', () => {
  it.each([
    [1, '1 second'],
    [59, '59 seconds'],
    [60, '1 minute'],
    [61, '2 minutes'],
    [3059, '51 minutes'],
    [3600, '60 minutes'],
  ])('formats %i seconds as %s', (seconds, text) => {
    expect(formatWaitDuration(seconds)).toBe(text);
  });
});
