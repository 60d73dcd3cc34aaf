import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPartialCodeRequest, RawConnection } from './support/raw-http.js';
import { TestServer } from './support/test-server.js';

/** pino's numeric level of warnings. */
const WARN = 40;

let logLines: Record<string, unknown>[];
let stream: Writable;

beforeEach(() => {
  logLines = [];
  stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
});

/** Sends the headers of a sign-in code request and the first `sent` characters of its body. */
async function startCodeRequest(server: TestServer, body: string, sent: number) {
  const connection = await openPartialCodeRequest(
    server.url,
    body.slice(0, sent),
    Buffer.byteLength(body),
  );
  await delay(100);
  return connection;
}

function indexOfMessage(message: string): number {
  return logLines.findIndex((line) => line.msg === message);
}

describe('server shutdown', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('closes stalled requests after the grace period', async () => {
    server = await TestServer.start({ logger: { stream }, shutdownGracePeriodMs: 500 });
    const connection = await startCodeRequest(server, `{"email":"${server.newEmail()}"}`, 4);

    const started = performance.now();
    await server.stop();
    const elapsedMs = performance.now() - started;
    server = undefined;
    const exchange = await connection.closedByServer(100);

    expect(elapsedMs).toBeGreaterThanOrEqual(450);
    expect(elapsedMs).toBeLessThan(2500);
    expect(exchange.status).toBeUndefined();
    expect(logLines[indexOfMessage('server stopping')]).toMatchObject({ grace_period_ms: 500 });
    expect(indexOfMessage('server stopping')).toBeLessThan(
      indexOfMessage('shutdown grace period ended, closing the connections still open'),
    );
    expect(
      logLines[indexOfMessage('connection closed before the response was sent')],
    ).toMatchObject({ route: '/auth/email-codes', status: null });
    expect(indexOfMessage('server stopped')).toBeGreaterThan(
      indexOfMessage('shutdown grace period ended, closing the connections still open'),
    );
    expect(logLines.filter((line) => (line.level as number) > WARN)).toEqual([]);
  });

  it('lets a request in progress finish', async () => {
    server = await TestServer.start({ logger: { stream }, shutdownGracePeriodMs: 5000 });
    const body = `{"email":"${server.newEmail()}"}`;
    const connection = await startCodeRequest(server, body, 4);

    const stopping = server.stop();
    await delay(100);
    connection.write(body.slice(4));
    const exchange = await connection.closedByServer(3000);
    const started = performance.now();
    await stopping;
    server = undefined;

    expect(exchange.status).toBe(202);
    expect(exchange.headers.connection).toBe('close');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(indexOfMessage('shutdown grace period ended, closing the connections still open')).toBe(
      -1,
    );
  });

  it('serves a request that arrives while stopping', async () => {
    server = await TestServer.start({ logger: { stream }, shutdownGracePeriodMs: 5000 });
    const body = `{"email":"${server.newEmail()}"}`;
    // A connection with part of a request is not idle, so closing the server keeps it open.
    const connection = await RawConnection.open(server.url);
    connection.write('POST /auth/email-codes HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await delay(100);

    const stopping = server.stop();
    await delay(100);
    const newConnectionFailure = await fetch(`${server.url}/openapi.json`).catch(
      (error: unknown) => error,
    );
    connection.write(
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const exchange = await connection.closedByServer(3000);
    await stopping;
    server = undefined;

    expect(newConnectionFailure).toBeInstanceOf(TypeError);
    expect(exchange.status).toBe(202);
    expect(exchange.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(exchange.headers.connection).toBe('close');
    expect(Object.keys(JSON.parse(exchange.body) as object)).toEqual(['expires_at']);
    expect(indexOfMessage('shutdown grace period ended, closing the connections still open')).toBe(
      -1,
    );
  });

  it('rejects new requests while stopping', async () => {
    server = await TestServer.start({ logger: { stream }, shutdownGracePeriodMs: 5000 });
    const connection = await startCodeRequest(server, `{"email":"${server.newEmail()}"}`, 4);

    const stopping = server.stop();
    await delay(100);
    const failure = await fetch(`${server.url}/openapi.json`).catch((error: unknown) => error);
    connection.destroy();
    await stopping;
    server = undefined;

    expect(failure).toBeInstanceOf(TypeError);
  });
});
