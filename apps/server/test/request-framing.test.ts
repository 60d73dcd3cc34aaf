import { setTimeout as delay } from 'node:timers/promises';
import type { Problem } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import { useLoggingServer } from './support/logging-server.js';
import { parseResponses, RawConnection, sendRawRequest } from './support/raw-http.js';

/**
 * Requests whose framing the server does not support: an expectation other than
 * `100-continue`, a body announced over the size limit behind `100-continue`, a transfer
 * coding other than chunked, and the CONNECT method. Each gets a logged problem response.
 */

const logs = useLoggingServer();

const CODE_BODY = '{"email":"framing@example.com"}';

/** Builds a sign-in code request with the given extra header lines, without its body. */
function codeRequestHead(headers: string[]): string {
  return ['POST /auth/email-codes HTTP/1.1', 'Host: 127.0.0.1', ...headers, '', ''].join('\r\n');
}

/** Waits until the connection received at least `text`, at most 5 seconds. */
async function waitForText(connection: RawConnection, text: string): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (connection.received.includes(text)) {
      return;
    }
    await delay(20);
  }
}

function expectProblemResponse(
  exchange: { status: number | undefined; headers: Record<string, string>; body: string },
  status: number,
  type: string,
): Problem {
  const problem = JSON.parse(exchange.body) as Problem;
  expect(exchange.status).toBe(status);
  expect(exchange.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(exchange.headers.connection).toBe('close');
  expect(problem.type).toBe(type);
  expect(problem.status).toBe(status);
  expect(problem.instance).toMatch(/^[0-9a-f-]{36}$/);
  expect(exchange.headers['x-request-id']).toBe(problem.instance);
  return problem;
}

describe('Expect', () => {
  it('rejects an unknown expectation with 417', async () => {
    const exchange = await sendRawRequest(
      logs.server.url,
      codeRequestHead([
        'Expect: 200-ok',
        'Content-Type: application/json',
        `Content-Length: ${CODE_BODY.length}`,
      ]) + CODE_BODY,
    );

    const problem = expectProblemResponse(
      exchange,
      417,
      'urn:provisions:problem:expectation-failed',
    );
    expect(problem.errors).toEqual([
      { header: 'Expect', detail: 'must be 100-continue or absent' },
    ]);
    expect(logs.lineFor(problem.instance)).toMatchObject({
      msg: 'request completed',
      operation: 'sendEmailCode',
      status: 417,
    });
    expect(await logs.server.outbox()).toEqual([]);
  });

  it('rejects 100-continue over the body limit without 100', async () => {
    const connection = await RawConnection.open(logs.server.url);
    connection.write(
      codeRequestHead([
        'Expect: 100-continue',
        'Content-Type: application/json',
        'Content-Length: 5000000',
      ]),
    );
    const exchange = await connection.closedByServer(5000);

    expect(connection.received).toMatch(/^HTTP\/1\.1 413 /);
    const problem = expectProblemResponse(
      exchange,
      413,
      'urn:provisions:problem:content-too-large',
    );
    expect(logs.lineFor(problem.instance)).toMatchObject({
      msg: 'request completed',
      operation: 'sendEmailCode',
      status: 413,
    });
  });

  it('sends 100 Continue for a body within the limit', async () => {
    const connection = await RawConnection.open(logs.server.url);
    connection.write(
      codeRequestHead([
        'Expect: 100-continue',
        'Content-Type: application/json',
        `Content-Length: ${CODE_BODY.length}`,
      ]),
    );
    await waitForText(connection, '\r\n\r\n');
    const interim = connection.received;
    connection.write(CODE_BODY);
    await waitForText(connection, '"expires_at"');
    connection.destroy();

    expect(interim).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    const [accepted] = parseResponses(connection.received.slice(interim.length));
    expect(accepted?.status).toBe(202);
  });
});

describe('Transfer-Encoding', () => {
  it('rejects gzip, chunked with 501', async () => {
    const before = (await logs.server.outbox()).length;
    const chunk = CODE_BODY.length.toString(16);
    const exchange = await sendRawRequest(
      logs.server.url,
      codeRequestHead(['Content-Type: application/json', 'Transfer-Encoding: gzip, chunked']) +
        `${chunk}\r\n${CODE_BODY}\r\n0\r\n\r\n`,
    );

    const problem = expectProblemResponse(exchange, 501, 'urn:provisions:problem:not-implemented');
    expect(problem.errors).toEqual([
      {
        header: 'Transfer-Encoding',
        detail: 'must be chunked alone; the server decodes no other transfer coding',
      },
    ]);
    expect(logs.lineFor(problem.instance)).toMatchObject({
      level: 30,
      msg: 'request completed',
      status: 501,
    });
    expect(await logs.server.outbox()).toHaveLength(before);
  });

  it('rejects gzip behind 100-continue without 100', async () => {
    const connection = await RawConnection.open(logs.server.url);
    connection.write(
      codeRequestHead([
        'Expect: 100-continue',
        'Content-Type: application/json',
        'Transfer-Encoding: gzip, chunked',
      ]),
    );
    const exchange = await connection.closedByServer(5000);

    expect(connection.received).toMatch(/^HTTP\/1\.1 501 /);
    expectProblemResponse(exchange, 501, 'urn:provisions:problem:not-implemented');
  });

  it('accepts chunked alone', async () => {
    const chunk = CODE_BODY.length.toString(16);
    const connection = await RawConnection.open(logs.server.url);
    connection.write(
      codeRequestHead(['Content-Type: application/json', 'Transfer-Encoding: chunked']) +
        `${chunk}\r\n${CODE_BODY}\r\n0\r\n\r\n`,
    );
    await waitForText(connection, '"expires_at"');
    connection.destroy();

    expect(parseResponses(connection.received)[0]?.status).toBe(202);
  });
});

describe('CONNECT', () => {
  it('answers with a logged 501 problem', async () => {
    const exchange = await sendRawRequest(
      logs.server.url,
      'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
    );

    const problem = expectProblemResponse(exchange, 501, 'urn:provisions:problem:not-implemented');
    expect(logs.lineFor(problem.instance)).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'CONNECT',
      route: null,
      operation: null,
      status: 501,
      remote_address: '127.0.0.1',
    });
  });
});
