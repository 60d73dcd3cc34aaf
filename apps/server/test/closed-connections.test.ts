import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPartialCodeRequest, type RawConnection } from './support/raw-http.js';
import { TestServer } from './support/test-server.js';

/**
 * A request whose connection closes before its response is sent still gets its one log
 * line, at info level: a client going away is not a server failure.
 */

/** pino's numeric levels. */
const INFO = 30;
const ERROR = 50;

const REQUEST_TIMEOUT_MS = 1000;

let server: TestServer;
let logLines: Record<string, unknown>[];

beforeAll(async () => {
  logLines = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  server = await TestServer.start({
    logger: { level: 'info', stream },
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
});

afterAll(async () => {
  await server.stop();
});

/** Starts a sign-in code request that announces 100 bytes of body and sends `body`. */
async function startPartialRequest(body: string): Promise<RawConnection> {
  const connection = await openPartialCodeRequest(server.url, body, 100);
  // Lets the server read the headers and start on the body before the test goes on.
  await delay(100);
  return connection;
}

/** Waits until a log line with a request id is written after `from`, and returns the new lines. */
async function requestLinesAfter(from: number): Promise<Record<string, unknown>[]> {
  for (let waited = 0; waited < 5000; waited += 50) {
    if (logLines.slice(from).some((line) => line.request_id !== undefined)) {
      break;
    }
    await delay(50);
  }
  // Any second line for the same request would come right after the first.
  await delay(200);
  return logLines.slice(from).filter((line) => line.request_id !== undefined);
}

describe('closed connections', () => {
  it('logs a client gone mid-body at info', async () => {
    const before = logLines.length;
    const connection = await startPartialRequest('{"email":"a@examp');

    connection.destroy();
    const lines = await requestLinesAfter(before);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: INFO,
      msg: 'connection closed before the response was sent',
      operation: 'sendEmailCode',
      method: 'POST',
      route: '/auth/email-codes',
      status: null,
    });
    expect(lines[0]?.err).toBeUndefined();
    expect(logLines.slice(before).filter((line) => (line.level as number) >= ERROR)).toEqual([]);
  });

  it('logs a timed-out request as 408', async () => {
    const before = logLines.length;
    const connection = await startPartialRequest('{"em');

    const exchange = await connection.closedByServer(REQUEST_TIMEOUT_MS + 3000);
    const lines = await requestLinesAfter(before);

    expect(exchange.status).toBe(408);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: INFO,
      msg: 'request completed',
      operation: 'sendEmailCode',
      status: 408,
    });
    expect(logLines.slice(before).filter((line) => (line.level as number) >= ERROR)).toEqual([]);
  });
});
