import type { Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBoxKeys } from './support/box-material.js';
import { type RawExchange, sendRawRequest } from './support/raw-http.js';
import { TestServer, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

const APP_ORIGIN = 'http://app.localhost:5173';

/**
 * Sends a box creation with a valid body to `server` as raw HTTP/1.1, so that header
 * lines can repeat, which `fetch` merges into one.
 */
async function createBoxRaw(server: TestServer, headerLines: string[]): Promise<RawExchange> {
  const { publicKey } = await newBoxKeys();
  const body = JSON.stringify({ title: 'Repeated headers', public_key: publicKey });
  const organizationId = fixture.organization.id;
  const request = [
    `POST /organizations/${organizationId}/boxes HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headerLines.map((line) => line.replace(TOKEN, fixture.organization.token)),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  return sendRawRequest(server.url, request);
}

/** Stands for the organization's token in header lines written before it exists. */
const TOKEN = '<token>';

function bearer(): string {
  return `Authorization: Bearer ${TOKEN}`;
}

describe('repeated header fields', () => {
  it('creates a box with each header once', async () => {
    const exchange = await createBoxRaw(fixture.server, [
      bearer(),
      'Content-Type: application/json',
      'Idempotency-Key: once',
      `Origin: ${APP_ORIGIN}`,
      'Accept: application/json',
      'Accept: */*',
    ]);

    expect(exchange.status).toBe(201);
  });

  it.each([
    ['Authorization', [bearer(), bearer()]],
    ['Authorization', [bearer(), 'authorization: Bearer other-token']],
    ['Content-Type', ['Content-Type: application/json', 'Content-Type: text/plain']],
    ['Content-Type', ['Content-Type: application/json', 'CONTENT-TYPE: application/json']],
    ['Idempotency-Key', ['Idempotency-Key: first', 'Idempotency-Key: second']],
    ['Origin', [`Origin: ${APP_ORIGIN}`, 'Origin: http://other.localhost']],
  ])('rejects two %s lines with 400', async (header, lines) => {
    const others = [bearer(), 'Content-Type: application/json'].filter(
      (line) => !line.toLowerCase().startsWith(header.toLowerCase()),
    );
    const exchange = await createBoxRaw(fixture.server, [...others, ...lines]);
    const problem = JSON.parse(exchange.body) as Problem;

    expect(exchange.status).toBe(400);
    expect(exchange.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(exchange.headers['cache-control']).toBe('no-store');
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.detail).toBe(`the request has more than one ${header} header; send it once`);
    expect(problem.errors).toEqual([{ header, detail: 'must appear once' }]);
    expect(problem.instance).toBe(exchange.headers['x-request-id']);
  });

  it('names every repeated header', async () => {
    const exchange = await createBoxRaw(fixture.server, [
      bearer(),
      bearer(),
      'Content-Type: application/json',
      'Content-Type: application/json',
    ]);
    const problem = JSON.parse(exchange.body) as Problem;

    expect(exchange.status).toBe(400);
    expect(problem.detail).toBe(
      'the request has more than one Authorization and Content-Type header; send each once',
    );
    expect(problem.errors).toEqual([
      { header: 'Authorization', detail: 'must appear once' },
      { header: 'Content-Type', detail: 'must appear once' },
    ]);
  });

  it('rejects before authentication', async () => {
    const exchange = await createBoxRaw(fixture.server, [
      'Authorization: Bearer unknown-token',
      'Authorization: Bearer other-unknown-token',
      'Content-Type: application/json',
    ]);

    expect(exchange.status).toBe(400);
    expect(exchange.headers['www-authenticate']).toBeUndefined();
  });
});

describe('repeated header fields with CORS', () => {
  let appServer: TestServer;

  beforeAll(async () => {
    appServer = await TestServer.start({ appUrl: `${APP_ORIGIN}/` });
  });

  afterAll(async () => {
    await appServer.stop();
  });

  it('lets the app origin read the 400', async () => {
    const exchange = await createBoxRaw(appServer, [
      `Origin: ${APP_ORIGIN}`,
      'Authorization: Bearer first',
      'Authorization: Bearer second',
      'Content-Type: application/json',
    ]);

    expect(exchange.status).toBe(400);
    expect(exchange.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(exchange.headers['access-control-expose-headers']).toContain('X-Request-Id');
  });
});
