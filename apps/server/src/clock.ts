/**
 * Source of the current time. The server reads the time only through this,
 * so tests can move it forward to expire codes, tokens and idempotency keys.
 *
 * @example
 * const systemClock: Clock = () => new Date();
 */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();
