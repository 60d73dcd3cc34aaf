/** Lifetime of an organization access token from `POST /oauth/token`, in seconds (1 hour). */
export const ORGANIZATION_TOKEN_TTL_SECONDS = 60 * 60;

/** Lifetime of a person's access token from `POST /auth/sessions`, in seconds (24 hours). */
export const PERSON_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/**
 * Access tokens whose owners each server process keeps in memory (least recently used
 * first out), so most authenticated requests skip a database read. An entry takes
 * under 1 kB, so the cache stays under 10 MB.
 */
export const ACCESS_TOKEN_CACHE_ENTRIES = 10_000;

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

/**
 * Time a client has to send a whole request, headers and body, in milliseconds (60 s).
 * A request still incomplete then gets 408 and its connection is closed. At this limit a
 * body of {@link BODY_LIMIT_BYTES} needs about 140 kbit/s.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * How often Node.js looks for requests past {@link REQUEST_TIMEOUT_MS}, in milliseconds, so
 * a 408 arrives at most about this long after the limit. Node.js 20 checks every 30 seconds
 * by default.
 */
export const REQUEST_TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Time an idle keep-alive connection stays open, in milliseconds (72 s, Fastify's
 * default). A load balancer with a shorter idle timeout, such as the 60 s default of AWS
 * Application Load Balancers, then closes the connection first, so it does not send a
 * request on a connection that the server is closing.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * Time a connection may pass without a byte in either direction, in milliseconds
 * (2 minutes), before the server closes it. This ends connections whose client stopped
 * reading a response, which no other limit covers. Requests still arriving are bounded by
 * {@link REQUEST_TIMEOUT_MS}, and idle connections by {@link KEEP_ALIVE_TIMEOUT_MS}.
 */
export const CONNECTION_IDLE_TIMEOUT_MS = 120_000;

/**
 * Connections the server keeps open at most by default. It closes new ones at once beyond
 * that. The default is lowered to the process's open-file limit minus
 * {@link FILE_DESCRIPTOR_RESERVE} where that is smaller.
 */
export const MAX_CONNECTIONS = 10_000;

/**
 * File descriptors kept free of connections for the database files, the outbox, the
 * listening socket and Node.js itself. An idle server on SQLite had 31 open (Node.js 20 on
 * Linux), and the PostgreSQL pool adds up to 10.
 */
export const FILE_DESCRIPTOR_RESERVE = 100;

/**
 * Time between two warnings about connections closed at the connection limit, in
 * milliseconds (1 minute). The first one is logged at once, the next ones with the
 * number closed since the last warning.
 */
export const CONNECTION_DROP_WARNING_INTERVAL_MS = 60_000;

/**
 * Time that requests in progress get to finish when the server stops, in milliseconds
 * (8 s), before their connections are closed. It is longer than a write waits for a
 * locked SQLite database ({@link DATABASE_BUSY_TIMEOUT_MS}). It is shorter than the 10 s
 * that `docker stop` waits before it kills the process, which leaves time to close the
 * database.
 */
export const SHUTDOWN_GRACE_PERIOD_MS = 8000;

/** Bytes of randomness in access tokens and client secrets (base64url: 43 characters). */
export const SECRET_TOKEN_BYTES = 32;

/**
 * Time a database statement may wait for a lock, in milliseconds, before its request fails
 * with 503. On SQLite, a statement or transaction keeps trying this long while another
 * connection holds the lock it needs, then fails with `SQLITE_BUSY`. On PostgreSQL, every
 * session of a running server gets it as `lock_timeout`, and as
 * `idle_in_transaction_session_timeout`, which ends the session of a server process that
 * stopped in the middle of a transaction and so frees the write lock it held.
 */
export const DATABASE_BUSY_TIMEOUT_MS = 5000;

/**
 * How long the server waits for a new PostgreSQL connection, or for a free connection of
 * its pool, in milliseconds. A request that waits longer fails with 503 instead of
 * hanging. It equals {@link DATABASE_BUSY_TIMEOUT_MS}, so a database that stops responding
 * fails requests after about the same time whether or not the pool has open connections
 * ({@link POSTGRES_QUERY_TIMEOUT_MS}).
 */
export const DATABASE_CONNECT_TIMEOUT_MS = DATABASE_BUSY_TIMEOUT_MS;

/**
 * Time a PostgreSQL statement of a running server may take, lock waits included, in
 * milliseconds (`statement_timeout`), before PostgreSQL cancels it and its request fails
 * with 503. It is half a second longer than {@link DATABASE_BUSY_TIMEOUT_MS}, so a
 * statement that waits for a lock fails with the error of `lock_timeout`, which names the
 * lock wait as the cause.
 */
export const POSTGRES_STATEMENT_TIMEOUT_MS = DATABASE_BUSY_TIMEOUT_MS + 500;

/**
 * How long the server waits for PostgreSQL's response to one statement, in milliseconds
 * (node-postgres' `query_timeout`), before it closes the connection and the request fails
 * with 503. This bounds a database server that stopped responding. It is half a second
 * longer than {@link POSTGRES_STATEMENT_TIMEOUT_MS}, so that PostgreSQL's own time limits,
 * which keep the connection usable, come first.
 */
export const POSTGRES_QUERY_TIMEOUT_MS = POSTGRES_STATEMENT_TIMEOUT_MS + 500;

/**
 * Seconds a client is asked to wait, in `Retry-After`, before retrying a request
 * that failed with 503 because the database was unavailable.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * Seconds a client is asked to wait, in `Retry-After`, before retrying a request that
 * failed with 503 because the database's disk was full. Someone has to free space first.
 */
export const STORAGE_FULL_RETRY_AFTER_SECONDS = 60;

/**
 * Seconds a client is asked to wait, in `Retry-After`, before requesting a sign-in code
 * again after the server failed to send the email, such as when the outbox file could
 * not be written.
 */
export const MAIL_RETRY_AFTER_SECONDS = 30;

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
