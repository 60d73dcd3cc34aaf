import { buildApp } from './app.js';
import { type Clock, systemClock } from './clock.js';
import { createDataDir } from './data-dir.js';
import { connectDatabase } from './database/connect-database.js';
import { checkDatabaseUrl } from './database/database-url.js';
import { checkDatabasePath } from './database/open-database.js';
import { PostgresSqlDatabase } from './database/postgres-database.js';
import { SqliteSqlDatabase } from './database/sqlite-database.js';
import { InvalidOptionError } from './errors/invalid-option-error.js';
import { checkAppUrl } from './http/app-url.js';
import { defaultMaxConnections, installConnectionLimit } from './http/connection-limit.js';
import { loadCursorKey } from './http/cursor-key.js';
import { PageCursors } from './http/page-cursor.js';
import type { ServerLoggerOptions } from './http/request-logging.js';
import { checkTrustedProxies } from './http/trusted-proxies.js';
import {
  FILE_DESCRIPTOR_RESERVE,
  MAX_CONNECTIONS,
  REQUEST_TIMEOUT_MS,
  SHUTDOWN_GRACE_PERIOD_MS,
  SIGN_IN_REQUESTS_PER_MINUTE,
} from './limits.js';
import { OutboxMailer } from './mail/outbox-mailer.js';
import { loadOpenApiDocument } from './openapi/openapi-document.js';
import { closeWithGracePeriod } from './server-shutdown.js';
import { DatabaseStore } from './store/store.js';

/** Maximum delay of a Node.js timer, in milliseconds (2^31 - 1, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /**
   * Directory for `outbox.jsonl` and `cursor.key`, and for `provisions.sqlite` (with
   * its `-wal` and `-shm` files) unless `databaseUrl` is given; created with its
   * parents if missing.
   */
  dataDir: string;
  /**
   * `postgres://` or `postgresql://` URL of a PostgreSQL database to use instead of
   * the SQLite file, such as `postgresql://provisions:secret@db.internal:5432/provisions`.
   * Several servers may share one database; the schema is migrated at start.
   */
  databaseUrl?: string;
  /** Address to listen on; default `127.0.0.1`. */
  host?: string;
  /** TCP port; `0` picks a free port; default `0`. */
  port?: number;
  /**
   * URL of the web app. Browsers on its origin may call the API (CORS), and sign-in
   * emails mention it. Without it, no cross-origin request is allowed.
   */
  appUrl?: string;
  /** `false` (default) logs nothing; `true` logs JSON lines at info level to standard output. */
  logger?: boolean | ServerLoggerOptions;
  /** Source of the current time, for tests that expire codes and tokens; default the wall clock. */
  now?: Clock;
  /**
   * Requests one client address may make per minute to each sign-in operation;
   * default {@link SIGN_IN_REQUESTS_PER_MINUTE}. More get 429 with `Retry-After`.
   */
  signInRequestsPerMinute?: number;
  /**
   * Addresses or CIDR ranges of the reverse proxies in front of the server, such as
   * `['127.0.0.1']` for a load balancer on the same machine. A request from one of them
   * takes its client address from `X-Forwarded-For`, for the per-client rate limit and
   * the logs. Default none: the client address is the connection's peer, and the header
   * is ignored, so clients cannot choose their own address.
   */
  trustedProxies?: string[];
  /**
   * Milliseconds a client has to send a whole request, headers and body; default
   * {@link REQUEST_TIMEOUT_MS} (60 seconds). A request still incomplete then gets 408
   * within about a second more, and its connection is closed.
   */
  requestTimeoutMs?: number;
  /**
   * Maximum number of open connections. The server closes new ones at once beyond it, logs
   * a warning for the first one dropped, then at most one warning a minute with a count.
   * The default is {@link MAX_CONNECTIONS} (10,000), or the process's open-file limit minus
   * {@link FILE_DESCRIPTOR_RESERVE} (100) where that is smaller, so that connections leave
   * file descriptors for the database and the outbox.
   */
  maxConnections?: number;
  /**
   * Milliseconds that requests in progress get to finish once `close()` is called;
   * default {@link SHUTDOWN_GRACE_PERIOD_MS} (8 seconds). The connections still open
   * then are closed.
   */
  shutdownGracePeriodMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** Base URL of the API, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /**
   * Logs `server stopping` and stops accepting connections. It then waits for the
   * requests in progress, for at most the shutdown grace period, closes the connections
   * still open, and closes the database, which on SQLite runs a last WAL checkpoint.
   * Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Starts the provisions API server on PostgreSQL when `databaseUrl` is given,
 * otherwise on a SQLite database in `dataDir`.
 *
 * @throws InvalidOptionError for a bad option; the error of `listen` when the port is taken;
 * DatabaseVersionError when the database was written by a newer server;
 * DatabaseConnectionError when PostgreSQL cannot be reached.
 * @example
 * const server = await startServer({ dataDir: './data', port: 8080 });
 * console.log(server.url); // http://127.0.0.1:8080
 * await server.close();
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { dataDir, host = '127.0.0.1', port = 0, appUrl } = options;
  checkOptions(options);

  if (options.databaseUrl === undefined) {
    checkDatabasePath(dataDir);
  }
  await createDataDir(dataDir);
  const document = await loadOpenApiDocument();
  const database = await connectDatabase({ dataDir, databaseUrl: options.databaseUrl });

  const mailer = new OutboxMailer(dataDir);
  try {
    const cursorKey = await loadCursorKey(dataDir);
    const app = await buildApp({
      document,
      context: {
        store: new DatabaseStore(database),
        clock: options.now ?? systemClock,
        mailer,
        cursors: new PageCursors(cursorKey),
        appUrl,
        signInRequestsPerMinute: options.signInRequestsPerMinute ?? SIGN_IN_REQUESTS_PER_MINUTE,
      },
      logger: options.logger,
      trustedProxies: options.trustedProxies,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    if (database instanceof PostgresSqlDatabase) {
      database.onRetry = (retry) =>
        app.log.warn({ attempt: retry.attempt, sql_state: retry.sqlState }, 'transaction retried');
      database.onIdleError = (error) =>
        app.log.error({ err: error }, 'idle database connection failed');
    }
    if (database instanceof SqliteSqlDatabase) {
      database.onCheckpointError = (error) =>
        app.log.error({ err: error }, 'WAL checkpoint on the checkpoint thread failed');
    }
    // Requests still running when close() is called keep their connection open
    // for keep-alive afterwards, and the HTTP server would wait for it to time out.
    let stopping = false;
    app.addHook('onSend', (_request, reply, _payload, done) => {
      if (stopping) {
        reply.header('connection', 'close');
      }
      done();
    });
    app.addHook('onClose', async () => {
      await mailer.close();
      await database.close();
      app.log.info('server stopped');
    });

    installConnectionLimit(app, options.maxConnections ?? defaultMaxConnections());
    const url = await app.listen({ host, port });
    const gracePeriodMs = options.shutdownGracePeriodMs ?? SHUTDOWN_GRACE_PERIOD_MS;
    let closing: Promise<void> | undefined;
    return Object.freeze({
      url,
      close: () => {
        stopping = true;
        closing ??= closeWithGracePeriod(app, gracePeriodMs);
        return closing;
      },
    });
  } catch (error) {
    await mailer.close();
    await database.close().catch(() => undefined);
    throw error;
  }
}

function checkOptions(options: StartServerOptions): void {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new InvalidOptionError('dataDir must be a non-empty directory path');
  }
  const { port } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new InvalidOptionError(`port must be an integer from 0 to 65535, received ${port}`);
  }
  if (options.appUrl !== undefined) {
    checkAppUrl(options.appUrl, 'appUrl');
  }
  if (options.trustedProxies !== undefined) {
    checkTrustedProxies(options.trustedProxies, 'trustedProxies');
  }
  const { maxConnections } = options;
  if (
    maxConnections !== undefined &&
    (!Number.isSafeInteger(maxConnections) || maxConnections < 1)
  ) {
    throw new InvalidOptionError(
      `maxConnections must be a positive integer, received ${maxConnections}`,
    );
  }
  checkMilliseconds(options.requestTimeoutMs, 'requestTimeoutMs');
  checkMilliseconds(options.shutdownGracePeriodMs, 'shutdownGracePeriodMs');
  if (options.databaseUrl !== undefined) {
    checkDatabaseUrl(options.databaseUrl, 'databaseUrl');
  }
}

/** Checks an optional time limit in milliseconds: a positive integer, at most about 24.8 days. */
function checkMilliseconds(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS)) {
    throw new InvalidOptionError(
      `${name} must be an integer from 1 to ${MAX_TIMER_MS} milliseconds, received ${value}`,
    );
  }
}
