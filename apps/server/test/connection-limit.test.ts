import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConnectionDropCounter, defaultMaxConnections } from '../src/http/connection-limit.js';
import { parseResponses, RawConnection } from './support/raw-http.js';
import { TestServer } from './support/test-server.js';

/**
 * The connection limit: connections over it are closed at once and logged as warnings at
 * most once a minute, and the connections within it keep working.
 */

/** pino's numeric level for warnings. */
const WARN = 40;

const MAX_CONNECTIONS = 3;
const DROP_MESSAGE = 'new connections closed because the server has max_connections open';

let server: TestServer;
let logged = '';
const open: RawConnection[] = [];

function logLines(): Record<string, unknown>[] {
  return logged
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits until the connection received `count` responses, at most 5 seconds. */
async function waitForResponses(connection: RawConnection, count: number): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (parseResponses(connection.received).length >= count) {
      return;
    }
    await delay(20);
  }
}

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  server = await TestServer.start({
    logger: { level: 'info', stream },
    maxConnections: MAX_CONNECTIONS,
  });
});

afterAll(async () => {
  for (const connection of open) {
    connection.destroy();
  }
  await server.stop();
});

describe('connection limit', () => {
  it('closes connections over the limit and logs once', async () => {
    for (let index = 0; index < MAX_CONNECTIONS; index += 1) {
      const connection = await RawConnection.open(server.url);
      open.push(connection);
      // A response shows that the server accepted the connection.
      connection.write('GET /identities/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await waitForResponses(connection, 1);
    }

    const first = await RawConnection.open(server.url);
    const second = await RawConnection.open(server.url);
    const firstExchange = await first.closedByServer(2000);
    const secondExchange = await second.closedByServer(2000);

    expect(firstExchange.status).toBeUndefined();
    expect(secondExchange.status).toBeUndefined();
    const warnings = logLines().filter((line) => line.msg === DROP_MESSAGE);
    expect(warnings).toEqual([
      expect.objectContaining({ level: WARN, dropped: 1, max_connections: MAX_CONNECTIONS }),
    ]);
  });

  it('serves the connections within the limit', async () => {
    const [connection] = open;
    const body = '{"email":"limit@example.com"}';
    connection?.write(
      [
        'POST /auth/email-codes HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        '',
        body,
      ].join('\r\n'),
    );
    if (connection !== undefined) {
      await waitForResponses(connection, 2);
    }

    expect(parseResponses(connection?.received ?? '')[1]?.status).toBe(202);
    expect((await server.outbox()).map((line) => line.to)).toEqual(['limit@example.com']);
  });
});

describe('ConnectionDropCounter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the first drop at once, then once an interval', () => {
    vi.useFakeTimers();
    const reports: number[] = [];
    const counter = new ConnectionDropCounter((dropped) => reports.push(dropped), 60_000);

    counter.record();
    counter.record();
    counter.record();
    expect(reports).toEqual([1]);

    vi.advanceTimersByTime(60_000);
    expect(reports).toEqual([1, 2]);

    vi.advanceTimersByTime(60_000);
    counter.record();
    expect(reports).toEqual([1, 2, 1]);
  });

  it('reports unreported drops when stopped', () => {
    vi.useFakeTimers();
    const reports: number[] = [];
    const counter = new ConnectionDropCounter((dropped) => reports.push(dropped), 60_000);

    counter.record();
    counter.record();
    counter.stop();
    vi.advanceTimersByTime(120_000);

    expect(reports).toEqual([1, 1]);
  });
});

describe('defaultMaxConnections', () => {
  it.each([
    [undefined, 10_000],
    [1_048_576, 10_000],
    [1024, 924],
    [50, 1],
  ])('is %s open files -> %i', (fileLimit, expected) => {
    expect(defaultMaxConnections(fileLimit)).toBe(expected);
  });
});
