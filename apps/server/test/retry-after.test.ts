import { describe, expect, it } from 'vitest';
import { retryAfterSeconds, tryAgainSentence, waitDuration } from '../web/src/retry-after.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function withRetryAfter(value: string): Response {
  return new Response(null, { status: 429, headers: { 'retry-after': value } });
}

describe('retryAfterSeconds', () => {
  it('reads delay seconds', () => {
    expect(retryAfterSeconds(withRetryAfter('30'), NOW)).toBe(30);
    expect(retryAfterSeconds(withRetryAfter(' 3600 '), NOW)).toBe(3600);
  });

  it('waits at least one second', () => {
    expect(retryAfterSeconds(withRetryAfter('0'), NOW)).toBe(1);
  });

  it('counts down to an HTTP date', () => {
    expect(retryAfterSeconds(withRetryAfter('Sun, 01 Mar 2026 12:01:30 GMT'), NOW)).toBe(90);
    expect(retryAfterSeconds(withRetryAfter('Sun, 01 Mar 2026 11:59:00 GMT'), NOW)).toBe(1);
  });

  it('ignores a missing or unreadable header', () => {
    expect(retryAfterSeconds(undefined, NOW)).toBeUndefined();
    expect(retryAfterSeconds(new Response(null, { status: 429 }), NOW)).toBeUndefined();
    expect(retryAfterSeconds(withRetryAfter('soon'), NOW)).toBeUndefined();
    expect(retryAfterSeconds(withRetryAfter('-5'), NOW)).toBeUndefined();
    expect(retryAfterSeconds(withRetryAfter('1.5'), NOW)).toBeUndefined();
  });
});

describe('waitDuration', () => {
  it.each([
    [1, '1 second'],
    [30, '30 seconds'],
    [59, '59 seconds'],
    [60, '1 minute'],
    [61, '2 minutes'],
    [3600, '60 minutes'],
  ])('words %i seconds as "%s"', (seconds, words) => {
    expect(waitDuration(seconds)).toBe(words);
  });
});

describe('tryAgainSentence', () => {
  it('names the wait', () => {
    expect(tryAgainSentence(30)).toBe('Try again in 30 seconds.');
    expect(tryAgainSentence(60)).toBe('Try again in 1 minute.');
  });

  it('says later without a wait', () => {
    expect(tryAgainSentence(undefined)).toBe('Try again later.');
  });
});
