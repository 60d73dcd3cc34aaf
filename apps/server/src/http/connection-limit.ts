import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import {
  CONNECTION_DROP_WARNING_INTERVAL_MS,
  FILE_DESCRIPTOR_RESERVE,
  MAX_CONNECTIONS,
} from '../limits.js';

/**
 * Returns the process's limit of open files (the soft `RLIMIT_NOFILE`, which Node.js
 * raises to the hard limit at start), read from Linux's `/proc/self/limits`. Returns
 * undefined elsewhere and for an unlimited value.
 */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const value = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * Returns the default connection limit: {@link MAX_CONNECTIONS}, or the open-file limit
 * minus {@link FILE_DESCRIPTOR_RESERVE} when that is smaller, and at least 1.
 */
export function defaultMaxConnections(fileLimit = openFileLimit()): number {
  if (fileLimit === undefined) {
    return MAX_CONNECTIONS;
  }
  return Math.max(1, Math.min(MAX_CONNECTIONS, fileLimit - FILE_DESCRIPTOR_RESERVE));
}

/**
 * Counts connections closed at the connection limit and reports them: the first at once,
 * then at most one report per interval with the number closed since the last one.
 */
export class ConnectionDropCounter {
  readonly #report: (dropped: number) => void;
  readonly #intervalMs: number;
  #unreported = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(report: (dropped: number) => void, intervalMs = CONNECTION_DROP_WARNING_INTERVAL_MS) {
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  /** Counts one closed connection, and reports it at once unless a report was recent. */
  record(): void {
    if (this.#timer !== undefined) {
      this.#unreported += 1;
      return;
    }
    this.#report(1);
    this.#startInterval();
  }

  /** Reports the connections not reported yet, and stops the interval timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reportUnreported();
  }

  #startInterval(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#unreported > 0) {
        this.#reportUnreported();
        this.#startInterval();
      }
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #reportUnreported(): void {
    if (this.#unreported > 0) {
      const dropped = this.#unreported;
      this.#unreported = 0;
      this.#report(dropped);
    }
  }
}

/**
 * Sets the HTTP server's connection limit, so that connections cannot take the file
 * descriptors that the database and the outbox need. Node.js closes each connection over
 * the limit at once, without a response, and emits 'drop'. Those are logged as warnings,
 * rate-limited by {@link ConnectionDropCounter}.
 */
export function installConnectionLimit(app: FastifyInstance, maxConnections: number): void {
  app.server.maxConnections = maxConnections;
  const drops = new ConnectionDropCounter((dropped) =>
    app.log.warn(
      { dropped, max_connections: maxConnections },
      'new connections closed because the server has max_connections open',
    ),
  );
  app.server.on('drop', () => drops.record());
  app.addHook('onClose', (_instance, done) => {
    drops.stop();
    done();
  });

  const fileLimit = openFileLimit();
  if (fileLimit !== undefined && maxConnections > fileLimit - FILE_DESCRIPTOR_RESERVE) {
    app.log.warn(
      { max_connections: maxConnections, open_file_limit: fileLimit },
      `max_connections leaves fewer than ${FILE_DESCRIPTOR_RESERVE} of the open-file limit for the database and the outbox; lower it or raise the limit (ulimit -n)`,
    );
  }
}
