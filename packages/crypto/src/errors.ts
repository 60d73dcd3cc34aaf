/**
 * Every `code` that a {@link CryptoError} can carry. The codes are stable across releases,
 * so callers branch on `error.code`, never on the message.
 */
export const CRYPTO_ERROR_CODES = [
  'ERR_INVALID_TYPE',
  'ERR_INVALID_LENGTH',
  'ERR_INVALID_BASE64URL',
  'ERR_INVALID_OPTION',
  'ERR_INVALID_SHARES',
  'ERR_LOW_ORDER_POINT',
  'ERR_OPEN_FAILED',
  'ERR_KEY_MISMATCH',
  'ERR_WRONG_PASSPHRASE',
  'ERR_INVALID_ENVELOPE',
  'ERR_WEBCRYPTO_FAILED',
  'ERR_X25519_FAILED',
  'ERR_KEY_DESTROYED',
] as const;

/** One of {@link CRYPTO_ERROR_CODES}. */
export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];

/**
 * The error that every function of this package throws or rejects with.
 *
 * Messages name the parameter or field, what was expected and what was received (a type
 * or a length). They never contain a secret key, a share, a passphrase or plaintext.
 *
 * `instanceof CryptoError` is false for an error thrown by another copy of this package,
 * such as a nested install of another version. {@link isCryptoError} recognizes both.
 *
 * @example
 * ```ts
 * import { CryptoError, open } from '@provisions/crypto';
 *
 * try {
 *   await open(sealed, secretKey);
 * } catch (error) {
 *   if (error instanceof CryptoError && error.code === 'ERR_OPEN_FAILED') {
 *     // wrong key, or the sealed box was modified
 *   }
 * }
 * ```
 */
export class CryptoError extends Error {
  /** Stable machine-readable reason, one of {@link CRYPTO_ERROR_CODES}. */
  readonly code: CryptoErrorCode;

  /**
   * @param code - stable reason for the failure.
   * @param message - human-readable description; must not contain secret values.
   * @param options - standard `ErrorOptions`, for a non-secret `cause`.
   */
  constructor(code: CryptoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/**
 * Tells whether `value` is a {@link CryptoError}, also one thrown by another copy of this
 * package (a nested install of another version), which `instanceof CryptoError` misses.
 * Such an error is recognized by its structure: an `Error` whose `name` is `'CryptoError'`
 * and whose `code` is one of this copy's {@link CRYPTO_ERROR_CODES}, so a code that only a
 * newer version raises is not recognized.
 *
 * @param value - anything caught.
 * @returns true for a `CryptoError` of this or another copy of the package.
 * @example
 * ```ts
 * import { isCryptoError, open } from '@provisions/crypto';
 *
 * try {
 *   await open(sealed, secretKey);
 * } catch (error) {
 *   if (isCryptoError(error) && error.code === 'ERR_OPEN_FAILED') {
 *     // wrong key, or the sealed box was modified
 *   }
 * }
 * ```
 */
export function isCryptoError(value: unknown): value is CryptoError {
  if (value instanceof CryptoError) {
    return true;
  }

  return (
    value instanceof Error &&
    value.name === 'CryptoError' &&
    (CRYPTO_ERROR_CODES as readonly unknown[]).includes((value as { code?: unknown }).code)
  );
}
