import { expect } from 'vitest';

import { CryptoError } from '../src/errors.js';

/**
 * Awaits `promise`, checks that it rejects with a {@link CryptoError}, and returns that
 * error for the test to inspect.
 *
 * @throws Error when the promise resolves.
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<CryptoError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error('expected the promise to reject');
}
