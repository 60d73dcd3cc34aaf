import { ApiArgumentError } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkError,
  networkRetryDelay,
  problemDetailOf,
} from '../src/retry.js';

const RETRIES = DEFAULT_RETRY_POLICY.attempts - 1;

function totalWait(random: () => number): number {
  let total = 0;
  for (let retry = 1; retry <= RETRIES; retry += 1) {
    total += networkRetryDelay(retry, DEFAULT_RETRY_POLICY, random);
  }
  return total;
}

describe('isRetryableNetworkError', () => {
  it('retries a failure without a response', () => {
    const error = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });

    expect(isRetryableNetworkError(error)).toBe(true);
  });

  it('does not retry an argument error', () => {
    expect(isRetryableNetworkError(new ApiArgumentError('token: expected a string'))).toBe(false);
  });

  it('does not retry a Node.js argument error', () => {
    const error = Object.assign(new TypeError('invalid argument'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });

    expect(isRetryableNetworkError(error)).toBe(false);
  });
});

describe('networkRetryDelay', () => {
  it('waits at least half of each ceiling', () => {
    expect(networkRetryDelay(1, DEFAULT_RETRY_POLICY, () => 0)).toBe(125);
    expect(networkRetryDelay(5, DEFAULT_RETRY_POLICY, () => 0)).toBe(2_000);
  });

  it('waits at most the ceiling', () => {
    expect(networkRetryDelay(1, DEFAULT_RETRY_POLICY, () => 0.999_999)).toBe(249);
    expect(networkRetryDelay(5, DEFAULT_RETRY_POLICY, () => 0.999_999)).toBe(3_999);
  });

  it('outlasts a restart of a few seconds', () => {
    expect(totalWait(() => 0)).toBe(3_875);
    expect(totalWait(() => 0.999_999)).toBeLessThan(7_750);
  });
});

describe('problemDetailOf', () => {
  it('returns the detail of a problem', () => {
    expect(problemDetailOf({ status: 503, detail: 'the disk is full' })).toBe('the disk is full');
  });

  it('replaces control characters with spaces', () => {
    expect(problemDetailOf({ detail: 'full\u001b[2J\ndisk' })).toBe('full [2J disk');
  });

  it('cuts a long detail', () => {
    const detail = problemDetailOf({ detail: 'x'.repeat(1_000) });
    expect(detail).toHaveLength(301);
    expect(detail?.endsWith('…')).toBe(true);
  });

  it('ignores bodies without a string detail', () => {
    expect(problemDetailOf(undefined)).toBeUndefined();
    expect(problemDetailOf('Service Unavailable')).toBeUndefined();
    expect(problemDetailOf({ detail: 42 })).toBeUndefined();
    expect(problemDetailOf({ detail: ' \n ' })).toBeUndefined();
  });
});
