/** Error codes of Node.js sockets when the database server cannot be reached. */
const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATE codes of a server that is shutting down, starting, or out of
 * connections (class 57P, 53300), of broken connections (class 08), and of the time
 * limits of the server's sessions: a lock wait past `lock_timeout` (55P03), a statement
 * past `statement_timeout` (57014), and a session ended by
 * `idle_in_transaction_session_timeout` (25P03) or `idle_session_timeout` (57P05).
 */
const UNAVAILABLE_SQL_STATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '53300',
  '55P03',
  '57014',
  '25P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/**
 * Messages of the pg library that carry no code: the server closed the connection,
 * connecting timed out, the pool waited too long for a connection, or a statement got
 * no response within `query_timeout`.
 */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable/,
  /^Query read timeout$/,
];

/** SQLite's result code, and PostgreSQL's SQLSTATE `disk_full`, for a write that found no space. */
const STORAGE_FULL_CODES = new Set(['SQLITE_FULL', '53100']);

/**
 * Returns whether an error means the database is unavailable for now, rather than
 * that the request or the server is wrong. PostgreSQL refused or dropped the
 * connection, is shutting down, could not give a connection in time, or did not
 * finish a statement or lock wait within the session's time limits. Or SQLite
 * stayed locked by another writer past its busy timeout (`SQLITE_BUSY`). It looks
 * through `cause` and the `errors` of an AggregateError, as Node.js reports one
 * failure per address it tried.
 *
 * @example
 * isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // true
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return someInErrorChain(error, ({ code, message }) => {
    if (typeof code === 'string') {
      if (UNREACHABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQL_STATES.has(code)) {
        return true;
      }
      if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) {
        return true;
      }
    }
    return (
      typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))
    );
  });
}

/**
 * Returns whether an error means that the database's disk is full (`SQLITE_FULL`, or
 * PostgreSQL's `53100`), looking through `cause` and `errors` like
 * {@link isDatabaseUnavailable}.
 *
 * @example
 * isStorageFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })); // true
 */
export function isStorageFull(error: unknown): boolean {
  return someInErrorChain(
    error,
    ({ code }) => typeof code === 'string' && STORAGE_FULL_CODES.has(code),
  );
}

/**
 * Returns whether `test` holds for `error`, its `cause` chain, or the `errors` of an
 * AggregateError, to a depth of 5.
 */
function someInErrorChain(
  error: unknown,
  test: (fields: { code?: unknown; message?: unknown }) => boolean,
  depth = 0,
): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) {
    return false;
  }

  const fields = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (test(fields)) {
    return true;
  }
  if (
    Array.isArray(fields.errors) &&
    fields.errors.some((inner) => someInErrorChain(inner, test, depth + 1))
  ) {
    return true;
  }
  return someInErrorChain(fields.cause, test, depth + 1);
}
