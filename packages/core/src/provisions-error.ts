/**
 * Base class of every error that `@provisions/core` raises on its own.
 *
 * `code` is stable across releases, so callers branch on it instead of on the
 * message. Messages name the value that was wrong and what to do next, and
 * never contain a key share, a secret key, a sign-in code or a token.
 *
 * Errors from the packages underneath pass through unchanged: `ApiError` and
 * `EmailAddressError` from `@provisions/api`, `CryptoError` from
 * `@provisions/crypto`.
 */
export class ProvisionsError extends Error {
  /** Stable machine-readable code, such as `ERR_INVALID_INVITATION_LINK`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
