import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { TestServer } from './test-server.js';

/** A test server whose JSON log lines are kept in memory. */
export interface LoggingServer {
  /** The server, set by the `beforeAll` hook. */
  server: TestServer;
  /** Returns everything logged so far, one JSON object per line. */
  text(): string;
  /** Returns the log lines logged so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Returns the log line of the request with `requestId`, if there is one. */
  lineFor(requestId: string | undefined): Record<string, unknown> | undefined;
}

/**
 * Starts a test server that logs at `level` into memory before the tests of the calling
 * file or `describe` block, and stops it after them.
 *
 * @param trustedProxies - Addresses whose `X-Forwarded-For` the server trusts; default none.
 */
export function useLoggingServer(
  level: 'info' | 'trace' = 'info',
  trustedProxies: string[] = [],
): LoggingServer {
  let logged = '';
  const lines = (): Record<string, unknown>[] =>
    logged
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text) as Record<string, unknown>);
  const fixture = {
    text: () => logged,
    lines,
    lineFor: (requestId: string | undefined) =>
      lines().find((entry) => entry.request_id === requestId),
  } as LoggingServer;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    fixture.server = await TestServer.start({ logger: { level, stream }, trustedProxies });
  });

  afterAll(async () => {
    await fixture.server.stop();
  });

  return fixture;
}
