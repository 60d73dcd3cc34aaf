import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPartialCodeRequest, RawConnection } from './support/raw-http.js';
import { TestServer } from './support/test-server.js';

/** The request time limit of this file's server; the default of 60 seconds is too slow to test. */
const REQUEST_TIMEOUT_MS = 1000;

/** How much later than the limit a 408 may come: Node.js checks once a second. */
const CHECK_SLACK_MS = 2000;

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start({ requestTimeoutMs: REQUEST_TIMEOUT_MS });
});

afterAll(async () => {
  await server.stop();
});

describe('request timeout', () => {
  it('answers a stalled body with 408', async () => {
    const connection = await openPartialCodeRequest(server.url, '{"em', 100);

    const exchange = await connection.closedByServer(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS + 1000);

    expect(exchange.status).toBe(408);
    expect(exchange.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(exchange.body)).toMatchObject({
      type: 'urn:provisions:problem:request-timeout',
      status: 408,
    });
    expect(JSON.parse(exchange.body).instance).toMatch(/^[0-9a-f-]{36}$/);
    expect(exchange.headers['x-request-id']).toBe(JSON.parse(exchange.body).instance);
    expect(exchange.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(exchange.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
  });

  it('answers stalled headers with 408', async () => {
    const connection = await RawConnection.open(server.url);
    connection.write('GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    const exchange = await connection.closedByServer(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS + 1000);

    expect(exchange.status).toBe(408);
    expect(exchange.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
  });
});
