const SECONDS_PER_MINUTE = 60;

/**
 * Formats a wait for a problem detail, such as `30 seconds` or `51 minutes`. A wait of a
 * minute or more is given in whole minutes, rounded up, so a client never retries too early.
 * The `Retry-After` header keeps the exact number of seconds.
 *
 * @param seconds - the wait in whole seconds, at least 1.
 */
export function formatWaitDuration(seconds: number): string {
  if (seconds < SECONDS_PER_MINUTE) {
    return seconds === 1 ? '1 second' : `${seconds} seconds`;
  }

  const minutes = Math.ceil(seconds / SECONDS_PER_MINUTE);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
