/** Lifetime of an organization access token from `POST /oauth/token`, in seconds (1 hour). */
export const ORGANIZATION_TOKEN_TTL_SECONDS = 60 * 60;

/** Lifetime of a person's access token from `POST /auth/sessions`, in seconds (24 hours). */
export const PERSON_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/** Lifetime of an email sign-in code, in seconds (10 minutes). */
export const EMAIL_CODE_TTL_SECONDS = 10 * 60;

/** Wrong codes accepted for one email code before it is locked. */
export const EMAIL_CODE_MAX_FAILED_ATTEMPTS = 5;

/**
 * Codes sent to one email address per rolling hour. Each code allows a few guesses,
 * so this bounds how many guesses anyone can make against one account.
 */
export const EMAIL_CODES_PER_HOUR = 5;

/** How long an `Idempotency-Key` keeps returning its first result, in seconds (24 hours). */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60;

/**
 * Requests one client address may make per minute to each sign-in operation
 * (`POST /oauth/token`, `/auth/email-codes`, `/auth/sessions`). With the per-address
 * code limit, this keeps one client from guessing codes or flooding mailboxes.
 */
export const SIGN_IN_REQUESTS_PER_MINUTE = 30;

/** Largest accepted request body, in bytes (1 MiB). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Bytes of randomness in access tokens and client secrets (base64url: 43 characters). */
export const SECRET_TOKEN_BYTES = 32;

/**
 * How long the server waits for a new PostgreSQL connection, in milliseconds; a
 * request that waits longer fails with 503 instead of hanging.
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Seconds a client is asked to wait, in `Retry-After`, before retrying a request
 * that failed with 503 because the database was unavailable.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** How long SQLite waits for another connection's write lock before failing, in milliseconds. */
export const DATABASE_BUSY_TIMEOUT_MS = 5000;

/**
 * Times a PostgreSQL write transaction runs before its serialization failure,
 * deadlock or unique violation is returned as an error. Each retry waits a random
 * backoff of up to 200 milliseconds.
 */
export const POSTGRES_MAX_TRANSACTION_ATTEMPTS = 10;

/** Events per box in the response of `POST /boxes/joins`, before `next_cursor` takes over. */
export const JOINED_BOX_EVENTS_LIMIT = 100;

/**
 * Characters of sealed message content (`content.encrypted`) after which `POST /boxes/joins`
 * stops adding events to its response (4 Mi characters, about 3 MiB of ciphertext). Every box
 * with events still gets its first one, so a response contains at most this plus 100 messages.
 */
export const JOINED_BOXES_CONTENT_BUDGET = 4 * 1024 * 1024;
