const MS_PER_SECOND = 1000;
const SECONDS_PER_MINUTE = 60;

/**
 * Reads the `Retry-After` header of a response (RFC 9110 section 10.2.3): a number of
 * seconds, or an HTTP date.
 *
 * @param response - the error response, if there was one.
 * @param now - the current time in milliseconds since the epoch, to count down to a date.
 * @returns whole seconds to wait, at least 1, or `undefined` when the header is missing
 *   or is neither a number of seconds nor a date.
 */
export function retryAfterSeconds(
  response: Response | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = response?.headers.get('retry-after')?.trim();
  if (value === undefined || value === '') {
    return undefined;
  }

  if (/^\d+$/.test(value)) {
    return Math.max(1, Number(value));
  }

  // Date.parse also takes texts such as "-5" or "1.5", which no HTTP date resembles:
  // each of its three formats names the weekday and the month in letters.
  const date = Date.parse(value);
  if (!/[A-Za-z]/.test(value) || Number.isNaN(date)) {
    return undefined;
  }
  return Math.max(1, Math.ceil((date - now) / MS_PER_SECOND));
}

/**
 * Words for a wait, such as "1 second", "30 seconds", "1 minute" or "2 minutes". A wait
 * of a minute or more is given in whole minutes, rounded up, so the person never
 * retries too early.
 *
 * @param seconds - the wait in whole seconds, at least 1.
 */
export function waitDuration(seconds: number): string {
  if (seconds < SECONDS_PER_MINUTE) {
    return seconds === 1 ? '1 second' : `${seconds} seconds`;
  }

  const minutes = Math.ceil(seconds / SECONDS_PER_MINUTE);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/**
 * Builds "Try again in 30 seconds." from a `Retry-After` wait, or "Try again later."
 * without one.
 */
export function tryAgainSentence(seconds: number | undefined): string {
  return seconds === undefined ? 'Try again later.' : `Try again in ${waitDuration(seconds)}.`;
}
