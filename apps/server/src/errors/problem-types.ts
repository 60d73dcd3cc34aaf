/** One kind of error the API returns: RFC 9457 `type`, `title` and HTTP `status`. */
export interface ProblemType {
  /** URI that identifies the kind of problem; stable across releases. */
  readonly type: string;
  /** Short summary, the same for every occurrence. */
  readonly title: string;
  /** HTTP status code sent with it. */
  readonly status: number;
}

const define = (slug: string, title: string, status: number): ProblemType =>
  Object.freeze({ type: `urn:provisions:problem:${slug}`, title, status });

/**
 * Every kind of error the server returns. Each response body is
 * `application/problem+json` with one of these `type`, `title` and `status`
 * triples, plus a `detail` for the request and its id as `instance`.
 * The README lists the same table, and a test keeps the two in sync.
 */
export const PROBLEM_TYPES = Object.freeze({
  malformedRequest: define('malformed-request', 'Malformed request', 400),
  invalidRequest: define('invalid-request', 'Invalid request', 400),
  unauthorized: define('unauthorized', 'Authentication required', 401),
  invalidClient: define('invalid-client', 'Invalid client credentials', 401),
  invalidEmailCode: define('invalid-email-code', 'Invalid sign-in code', 401),
  emailCodeLocked: define('email-code-locked', 'Sign-in code locked', 401),
  wrongPrincipal: define('wrong-principal', 'Wrong kind of principal', 403),
  notFound: define('not-found', 'Not found', 404),
  methodNotAllowed: define('method-not-allowed', 'Method not allowed', 405),
  provisionExists: define('provision-exists', 'Active provision exists', 409),
  keyInUse: define('key-in-use', 'Key already in use', 409),
  requestTimeout: define('request-timeout', 'Request timeout', 408),
  contentTooLarge: define('content-too-large', 'Content too large', 413),
  unsupportedMediaType: define('unsupported-media-type', 'Unsupported media type', 415),
  expectationFailed: define('expectation-failed', 'Expectation failed', 417),
  invalidEmail: define('invalid-email', 'Invalid email address', 422),
  duplicateEmail: define('duplicate-email', 'Duplicate email address', 422),
  unknownInvitationKey: define('unknown-invitation-key', 'Unknown invitation key', 422),
  idempotencyKeyReused: define('idempotency-key-reused', 'Idempotency key reused', 422),
  boxKeyMismatch: define('box-key-mismatch', 'Box public key mismatch', 422),
  invalidPublicKey: define('invalid-public-key', 'Invalid public key', 422),
  membershipRequired: define('membership-required', 'Box membership required', 403),
  personRequired: define('person-required', 'Only a person can do this', 403),
  tooManyEmailCodes: define('too-many-email-codes', 'Too many email codes', 429),
  tooManyRequests: define('too-many-requests', 'Too many requests', 429),
  headerFieldsTooLarge: define('header-fields-too-large', 'Request header fields too large', 431),
  internalError: define('internal-error', 'Internal server error', 500),
  notImplemented: define('not-implemented', 'Not implemented', 501),
  serviceUnavailable: define('service-unavailable', 'Service unavailable', 503),
});

/** Name of one entry of {@link PROBLEM_TYPES}. */
export type ProblemTypeName = keyof typeof PROBLEM_TYPES;
