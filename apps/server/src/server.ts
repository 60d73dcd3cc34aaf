import { buildApp } from './app.js';
import { type Clock, systemClock } from './clock.js';
import { openDatabase } from './database/open-database.js';
import { InvalidOptionError } from './errors/invalid-option-error.js';
import { loadCursorKey } from './http/cursor-key.js';
import { PageCursors } from './http/page-cursor.js';
import type { ServerLoggerOptions } from './http/request-logging.js';
import { SIGN_IN_REQUESTS_PER_MINUTE } from './limits.js';
import { OutboxMailer } from './mail/outbox-mailer.js';
import { loadOpenApiDocument } from './openapi/openapi-document.js';
import { Store } from './store/store.js';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /**
   * Directory for `provisions.sqlite` (with its `-wal` and `-shm` files),
   * `outbox.jsonl` and `cursor.key`; created with its parents if missing.
   */
  dataDir: string;
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
}

/** A running server. */
export interface RunningServer {
  /** Base URL of the API, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops accepting connections, waits for open requests, and closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the provisions API server on a SQLite database in `dataDir`.
 *
 * @throws InvalidOptionError for a bad option; the error of `listen` when the port is taken;
 * DatabaseVersionError when the database was written by a newer server.
 * @example
 * const server = await startServer({ dataDir: './data', port: 8080 });
 * console.log(server.url); // http://127.0.0.1:8080
 * await server.close();
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { dataDir, host = '127.0.0.1', port = 0, appUrl } = options;
  checkOptions(options);

  const document = await loadOpenApiDocument();
  const db = openDatabase(dataDir);

  try {
    const cursorKey = await loadCursorKey(dataDir);
    const app = await buildApp({
      document,
      context: {
        store: new Store(db),
        clock: options.now ?? systemClock,
        mailer: new OutboxMailer(dataDir),
        cursors: new PageCursors(cursorKey),
        appUrl,
        signInRequestsPerMinute: options.signInRequestsPerMinute ?? SIGN_IN_REQUESTS_PER_MINUTE,
      },
      logger: options.logger,
    });
    app.addHook('onClose', async () => {
      db.close();
      app.log.info('server stopped');
    });

    const url = await app.listen({ host, port });
    let closing: Promise<void> | undefined;
    return Object.freeze({
      url,
      close: () => {
        closing ??= app.close();
        return closing;
      },
    });
  } catch (error) {
    if (db.open) {
      db.close();
    }
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
  if (options.appUrl !== undefined && !/^https?:\/\/[^/]/.test(options.appUrl)) {
    throw new InvalidOptionError(`appUrl must be an http or https URL, received ${options.appUrl}`);
  }
}
