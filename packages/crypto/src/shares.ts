import { combine, split } from 'shamir-secret-sharing';

import {
  type Bytes,
  copyAndWipe,
  copyBytesOfLength,
  copyBytesOfMinLength,
  describeNumber,
  equalBytes,
  wipe,
} from './bytes.js';
import { CryptoError } from './errors.js';
import { assertKnownOptions, assertOptions } from './options.js';
import { PUBLIC_KEY_LENGTH, x25519PublicKey } from './x25519.js';

/**
 * Length in bytes of one share of a 32-byte secret key (44 base64url characters): the 32
 * evaluated bytes followed by the 1-byte share index.
 */
export const SHARE_LENGTH = 33;

const MIN_SHARES = 2;
const MAX_SHARES = 255;
const DEFAULT_SHARES = 2;
const DEFAULT_THRESHOLD = 2;

/** The keys of {@link SplitSecretOptions}, the only option keys that splitSecret accepts. */
const SPLIT_SECRET_OPTIONS = ['shares', 'threshold'] as const;

/** Options of {@link splitSecret}. */
export interface SplitSecretOptions {
  /** Number of shares to make, an integer from 2 to 255. Defaults to 2. */
  shares?: number | undefined;
  /** Number of shares needed to rebuild the secret, from 2 to `shares`. Defaults to 2. */
  threshold?: number | undefined;
}

function checkCount(name: string, value: unknown, max: number, maxLabel: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_SHARES || value > max) {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `${name}: expected an integer from ${MIN_SHARES} to ${maxLabel}, received ${describeNumber(value)}`,
    );
  }

  return value;
}

/**
 * Splits a secret into shares with Shamir's secret sharing over GF(2^8) (package
 * `shamir-secret-sharing`), so that any `threshold` shares rebuild it and fewer reveal
 * nothing about it.
 *
 * @param secret - at least 1 byte; a 32-byte secret key gives 33-byte shares. Not modified.
 * @param options - `shares` (default 2) and `threshold` (default 2), with
 *   2 ≤ threshold ≤ shares ≤ 255.
 * @returns `shares` new arrays of `secret.length + 1` bytes each. The last byte of each is
 *   its share index, a distinct value from 1 to 255.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad `secret`;
 *   `ERR_INVALID_TYPE` if `options` is neither an object nor undefined;
 *   `ERR_INVALID_OPTION` for counts out of range or a key other than `shares` and
 *   `threshold`.
 * @example
 * ```ts
 * import { combineShares, splitSecret } from '@provisions/crypto';
 *
 * const shares = await splitSecret(secretKey, { shares: 3, threshold: 2 });
 * const rebuilt = await combineShares(shares.slice(1)); // any 2 of the 3 shares
 * ```
 */
export async function splitSecret(
  secret: Uint8Array,
  options?: SplitSecretOptions,
): Promise<Uint8Array<ArrayBuffer>[]> {
  assertOptions(options);
  assertKnownOptions(options, SPLIT_SECRET_OPTIONS, 'splitSecret');

  const sharesGiven = options?.shares !== undefined;
  const shares = checkCount(
    'options.shares',
    options?.shares ?? DEFAULT_SHARES,
    MAX_SHARES,
    `${MAX_SHARES}`,
  );
  const threshold = checkCount(
    'options.threshold',
    options?.threshold ?? DEFAULT_THRESHOLD,
    shares,
    sharesGiven ? `options.shares (${shares})` : `options.shares (${shares}, the default)`,
  );
  const copy = copyBytesOfMinLength(secret, 'secret', 1);

  try {
    const splitShares = await split(copy, shares, threshold);
    return splitShares.map(copyAndWipe);
  } finally {
    wipe(copy);
  }
}

/**
 * Checks a list of shares and copies each one. `shareLength` fixes the length of every
 * share; without it, all must have the length of the first.
 */
function copyShares(shares: unknown, shareLength: number | undefined): Bytes[] {
  if (!Array.isArray(shares)) {
    throw new CryptoError('ERR_INVALID_TYPE', 'shares: expected an array of Uint8Array');
  }

  if (shares.length < MIN_SHARES || shares.length > MAX_SHARES) {
    throw new CryptoError(
      'ERR_INVALID_SHARES',
      `shares: expected from ${MIN_SHARES} to ${MAX_SHARES} shares, received ${shares.length}`,
    );
  }

  const copies: Bytes[] = [];
  const positionByIndex = new Map<number, number>();

  try {
    for (const [position, share] of shares.entries()) {
      const name = `shares[${position}]`;
      const expectedLength = shareLength ?? copies[0]?.length;
      const copy =
        expectedLength === undefined
          ? copyBytesOfMinLength(share, name, 2)
          : copyBytesOfLength(share, name, expectedLength);
      copies.push(copy);

      const index = copy[copy.length - 1] as number;
      if (index === 0) {
        throw new CryptoError('ERR_INVALID_SHARES', `${name}: invalid share index 0`);
      }

      const earlier = positionByIndex.get(index);
      if (earlier !== undefined) {
        throw new CryptoError(
          'ERR_INVALID_SHARES',
          `${name}: duplicate share index, shares[${earlier}] has the same index`,
        );
      }
      positionByIndex.set(index, position);
    }
  } catch (error) {
    wipe(...copies);
    throw error;
  }

  return copies;
}

/**
 * Rebuilds a secret from shares made by {@link splitSecret}, in any order.
 *
 * Shamir's scheme cannot detect a wrong result: fewer shares than the threshold, or a
 * modified share, give a different secret without an error. Use {@link recoverSecretKey}
 * for secret keys, which checks the result against the expected public key.
 *
 * @param shares - 2 to 255 shares, all of the same length (at least 2 bytes) and with
 *   distinct indexes. Not modified.
 * @returns the secret, one byte shorter than each share.
 * @throws CryptoError `ERR_INVALID_TYPE` if `shares` is not an array of Uint8Array;
 *   `ERR_INVALID_LENGTH` if a share is shorter than 2 bytes or its length differs from
 *   `shares[0]`; `ERR_INVALID_SHARES` for fewer than 2 or more than 255 shares, a duplicate
 *   share index, or the index 0, which {@link splitSecret} never produces.
 * @example
 * ```ts
 * import { combineShares } from '@provisions/crypto';
 *
 * const secret = await combineShares([userKeyShare, serverKeyShare]);
 * ```
 */
export async function combineShares(shares: Uint8Array[]): Promise<Uint8Array<ArrayBuffer>> {
  const copies = copyShares(shares, undefined);

  try {
    return copyAndWipe(await combine(copies));
  } finally {
    wipe(...copies);
  }
}

/**
 * Rebuilds an X25519 secret key from its shares and checks that it gives the expected
 * public key, so that a wrong, modified or missing share is an error and never a wrong key.
 *
 * @param shares - 2 to 255 shares of `SHARE_LENGTH` (33) bytes with distinct indexes, in
 *   any order. Not modified.
 * @param expectedPublicKey - the 32-byte public key of the split secret key.
 * @returns the 32-byte secret key.
 * @throws CryptoError `ERR_KEY_MISMATCH` if the rebuilt key does not give
 *   `expectedPublicKey`; `ERR_INVALID_TYPE`, `ERR_INVALID_LENGTH` or `ERR_INVALID_SHARES`
 *   for malformed arguments, as in {@link combineShares}.
 * @example
 * ```ts
 * import { recoverSecretKey } from '@provisions/crypto';
 *
 * const secretKey = await recoverSecretKey([userKeyShare, serverKeyShare], provisionPublicKey);
 * ```
 */
export async function recoverSecretKey(
  shares: Uint8Array[],
  expectedPublicKey: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const expected = copyBytesOfLength(expectedPublicKey, 'expectedPublicKey', PUBLIC_KEY_LENGTH);
  const copies = copyShares(shares, SHARE_LENGTH);

  let secretKey: Bytes;
  try {
    secretKey = copyAndWipe(await combine(copies));
  } finally {
    wipe(...copies);
  }

  const publicKey = await x25519PublicKey(secretKey);
  if (!equalBytes(publicKey, expected)) {
    wipe(secretKey);
    throw new CryptoError(
      'ERR_KEY_MISMATCH',
      'shares: the rebuilt secret key does not match expectedPublicKey; a share is wrong or modified, or fewer shares than the threshold were given',
    );
  }

  return secretKey;
}
