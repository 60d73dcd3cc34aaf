import { setTimeout as delay } from 'node:timers/promises';
import type { Problem } from '@provisions/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { newBoxKeys } from './support/box-material.js';
import { useLoggingServer } from './support/logging-server.js';
import { parseResponses, RawConnection } from './support/raw-http.js';
import type { TestOrganization } from './support/test-server.js';

/**
 * Requests pipelined on one keep-alive connection, sent in one write. Each gets its response
 * in order, and a request behind a response that closes the connection is not processed.
 * Bytes that are not HTTP get their error response after the responses before them.
 */

const logs = useLoggingServer();
let organization: TestOrganization;

beforeAll(async () => {
  organization = await logs.server.organization();
});

/** Time given to the server to run any request it should not run, before counting rows. */
const SETTLE_MS = 500;

function boxesPath(): string {
  return `/organizations/${organization.id}/boxes`;
}

/** Builds a complete box creation request with the given body and extra header lines. */
function boxRequest(body: string, extraHeaders: string[] = [], host = ['Host: 127.0.0.1']): string {
  return [
    `POST ${boxesPath()} HTTP/1.1`,
    ...host,
    `Authorization: Bearer ${organization.token}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extraHeaders,
    '',
    body,
  ].join('\r\n');
}

async function validBoxRequests(count: number): Promise<string[]> {
  const requests: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const { publicKey } = await newBoxKeys();
    requests.push(
      boxRequest(JSON.stringify({ title: `Pipelined ${index}`, public_key: publicKey })),
    );
  }
  return requests;
}

/** Sends the text in one write on a new connection and returns the responses. */
async function sendPipelined(text: string) {
  const connection = await RawConnection.open(logs.server.url);
  connection.write(text);
  const exchange = await connection.closedByServer(5000).catch(() => undefined);
  return { closed: exchange !== undefined, responses: parseResponses(connection.received) };
}

/** Sends the text in one write, reads the responses, and closes the connection. */
async function sendAndRead(text: string, expectedResponses: number) {
  const connection = await RawConnection.open(logs.server.url);
  connection.write(text);
  for (let waited = 0; waited < 5000; waited += 20) {
    if (parseResponses(connection.received).length >= expectedResponses) {
      break;
    }
    await delay(20);
  }
  const responses = parseResponses(connection.received);
  connection.destroy();
  return responses;
}

describe('pipelined requests', () => {
  it('get their responses in order', async () => {
    const before = await logs.server.countRows('boxes');
    const requests = await validBoxRequests(4);

    const responses = await sendAndRead(requests.join(''), 4);

    expect(responses.map(({ status }) => status)).toEqual([201, 201, 201, 201]);
    const titles = responses.map(({ body }) => (JSON.parse(body) as { title: string }).title);
    expect(titles).toEqual(['Pipelined 0', 'Pipelined 1', 'Pipelined 2', 'Pipelined 3']);
    expect(await logs.server.countRows('boxes')).toBe(before + 4);
  });

  it.each([
    ['invalid JSON', () => boxRequest('{"title":')],
    ['a repeated JSON key', () => boxRequest('{"title":"a","title":"b"}')],
    ['no Host header', () => boxRequest('{}', [], [])],
    ['two Host headers', () => boxRequest('{}', [], ['Host: a.example', 'Host: b.example'])],
  ])('are not processed behind %s', async (_case, firstRequest) => {
    const before = await logs.server.countRows('boxes');
    const logFrom = logs.lines().length;
    const followers = await validBoxRequests(5);

    const { closed, responses } = await sendPipelined(firstRequest() + followers.join(''));
    await delay(SETTLE_MS);

    expect(closed).toBe(true);
    expect(responses).toHaveLength(1);
    expect(responses[0]?.status).toBe(400);
    expect(responses[0]?.headers.connection).toBe('close');
    expect(await logs.server.countRows('boxes')).toBe(before);

    const lines = logs.lines().slice(logFrom);
    const skipped = lines.filter(
      (line) => line.msg === 'request not processed because the connection is closing',
    );
    expect(skipped).toHaveLength(5);
    expect(new Set(skipped.map((line) => line.request_id)).size).toBe(5);
    for (const line of skipped) {
      expect(line).toMatchObject({
        level: 30,
        method: 'POST',
        route: '/organizations/:oid/boxes',
        operation: 'createBox',
      });
      expect(JSON.stringify(line)).not.toContain(organization.id);
    }
    const otherLines = lines.filter(
      (line) => line.request_id !== undefined && !skipped.includes(line),
    );
    expect(otherLines.map((line) => [line.msg, line.status])).toEqual([['request completed', 400]]);
  });
});

describe('bytes that are not HTTP after a request', () => {
  it.each([
    ['text that is not HTTP', 'NOT HTTP\r\n\r\n', 400],
    [
      'headers over the size limit',
      `GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
  ])('are answered after the response to the request, for %s', async (_case, trailer, status) => {
    const before = await logs.server.countRows('boxes');
    const logFrom = logs.lines().length;
    const [request = ''] = await validBoxRequests(1);

    const { closed, responses } = await sendPipelined(request + trailer);

    expect(closed).toBe(true);
    expect(responses.map((response) => response.status)).toEqual([201, status]);
    const [created, rejected] = responses;
    const problem = JSON.parse(rejected?.body ?? '{}') as Problem;
    expect(rejected?.headers.connection).toBe('close');
    expect(problem.instance).toBe(rejected?.headers['x-request-id']);
    expect(problem.instance).not.toBe(created?.headers['x-request-id']);
    expect(await logs.server.countRows('boxes')).toBe(before + 1);

    const lines = logs.lines().slice(logFrom);
    expect(
      lines.find((line) => line.request_id === created?.headers['x-request-id']),
    ).toMatchObject({ msg: 'request completed', operation: 'createBox', status: 201 });
    expect(lines.find((line) => line.request_id === problem.instance)).toMatchObject({
      msg: 'request rejected before routing',
      status,
    });
  });

  it('are ignored after a request with Connection: close', async () => {
    const before = await logs.server.countRows('boxes');
    const logFrom = logs.lines().length;
    const { publicKey } = await newBoxKeys();
    const request = boxRequest(JSON.stringify({ title: 'Last', public_key: publicKey }), [
      'Connection: close',
    ]);

    const { closed, responses } = await sendPipelined(`${request}NOT HTTP\r\n\r\n`);

    expect(closed).toBe(true);
    expect(responses.map((response) => response.status)).toEqual([201]);
    expect(await logs.server.countRows('boxes')).toBe(before + 1);
    const id = responses[0]?.headers['x-request-id'];
    const lines = logs.lines().slice(logFrom);
    expect(lines.filter((line) => line.request_id === id)).toMatchObject([
      { msg: 'request completed', operation: 'createBox', status: 201 },
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'bytes after the last request on a closing connection were not processed',
        error_code: 'HPE_CLOSED_CONNECTION',
      }),
    );
  });
});
