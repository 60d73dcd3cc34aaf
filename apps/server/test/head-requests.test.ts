import { encodeBase64Url, hashShare } from '@provisions/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxWithProvision } from './support/box-material.js';
import { useLoggingServer } from './support/logging-server.js';
import { type RawExchange, sendRawRequest } from './support/raw-http.js';
import { type TestPerson, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** Headers whose value differs between two responses to the same request. */
const PER_RESPONSE_HEADERS = new Set(['date', 'x-request-id']);

/** Sends one request with `Connection: close` and returns what the server sent before closing. */
function sendRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawExchange> {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return sendRawRequest(baseUrl, `${lines.join('\r\n')}\r\n\r\n`);
}

function stableHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !PER_RESPONSE_HEADERS.has(name)),
  );
}

/** A GET request of a test case; the tokens and ids exist only once `beforeAll` ran. */
interface GetRequest {
  path: string;
  headers?: Record<string, string>;
}

let person: TestPerson;
let boxId: string;
let shareHash: string;
let assetPath: string;

beforeAll(async () => {
  const email = fixture.server.newEmail();
  const { body, provision } = await boxWithProvision(email);
  const created = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: fixture.organization.id } },
    body,
  });
  boxId = created.data?.id ?? '';
  person = await fixture.server.signIn(email);
  shareHash = encodeBase64Url(await hashShare(provision.userKeyShare));

  const page = await fetch(`${fixture.server.url}/join`);
  assetPath = /\/assets\/[^"']+/.exec(await page.text())?.[0] ?? '';
});

const organizationAuth = (): Record<string, string> => ({
  authorization: `Bearer ${fixture.organization.token}`,
});
const personAuth = (): Record<string, string> => ({ authorization: `Bearer ${person.token}` });

/** GET routes of the pages and files, which the API description does not list. */
const PAGE_CASES: [string, number, () => GetRequest][] = [
  ['OpenAPI document', 200, () => ({ path: '/openapi.json' })],
  ['reference page', 200, () => ({ path: '/docs' })],
  ['recipient page', 200, () => ({ path: '/join' })],
  ['recipient page redirect', 301, () => ({ path: '/join/?x=1' })],
  ['page asset', 200, () => ({ path: assetPath })],
  ['missing page asset', 404, () => ({ path: '/assets/missing.js' })],
];

/** GET operations of the API description. */
const API_CASES: [string, number, () => GetRequest][] = [
  ['health check', 200, () => ({ path: '/health' })],
  ['own identity', 200, () => ({ path: '/identities/me', headers: personAuth() })],
  [
    'public key look-up',
    200,
    () => ({
      path: `/identities/public-keys?identifier=${encodeURIComponent(person.identity.email)}`,
      headers: organizationAuth(),
    }),
  ],
  [
    'provision redemption',
    200,
    () => ({ path: `/crypto/provisions?user_key_share_hash=${shareHash}`, headers: personAuth() }),
  ],
  [
    'unknown provision',
    404,
    () => ({
      path: `/crypto/provisions?user_key_share_hash=${'A'.repeat(86)}`,
      headers: personAuth(),
    }),
  ],
  ['crypto actions', 200, () => ({ path: '/crypto/actions', headers: personAuth() })],
  ['invalid limit', 400, () => ({ path: '/crypto/actions?limit=0x10', headers: personAuth() })],
  ['box', 200, () => ({ path: `/boxes/${boxId}`, headers: organizationAuth() })],
  ['box events', 200, () => ({ path: `/boxes/${boxId}/events`, headers: organizationAuth() })],
  ['invalid box id', 400, () => ({ path: '/boxes/not-a-uuid', headers: organizationAuth() })],
  ['missing token', 401, () => ({ path: '/identities/me' })],
  ['missing token on a box', 401, () => ({ path: `/boxes/${boxId}` })],
  [
    'unknown token',
    401,
    () => ({ path: '/crypto/actions', headers: { authorization: 'Bearer unknown' } }),
  ],
  [
    'token of the wrong principal',
    403,
    () => ({
      path: `/crypto/provisions?user_key_share_hash=${shareHash}`,
      headers: organizationAuth(),
    }),
  ],
];

const CASES = [...PAGE_CASES, ...API_CASES];

describe('HEAD on GET routes', () => {
  it.each(CASES)('HEAD on %s gets the GET status %i', async (_name, status, request) => {
    const { path, headers } = request();
    const get = await sendRequest(fixture.server.url, 'GET', path, headers);
    const head = await sendRequest(fixture.server.url, 'HEAD', path, headers);

    expect(get.status).toBe(status);
    expect(head.status).toBe(status);
    expect(stableHeaders(head.headers)).toEqual(stableHeaders(get.headers));
    expect(head.body).toBe('');
  });

  it.each(CASES)('HEAD on %s sends the GET Content-Length', async (_name, _status, request) => {
    const { path, headers } = request();
    const get = await sendRequest(fixture.server.url, 'GET', path, headers);
    const head = await sendRequest(fixture.server.url, 'HEAD', path, headers);

    expect(get.headers['content-length']).toBe(String(Buffer.byteLength(get.body)));
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });

  it.each(API_CASES)('HEAD on %s matches the API description', async (_name, status, request) => {
    const { path, headers } = request();
    // The test server's fetch checks the response against the GET operation.
    const head = await fixture.server.fetch(path, { method: 'HEAD', headers, redirect: 'manual' });

    expect(head.status).toBe(status);
  });

  it('HEAD without a token gets the 401 challenge of GET', async () => {
    const head = await sendRequest(fixture.server.url, 'HEAD', '/identities/me');

    expect(head.status).toBe(401);
    expect(head.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(head.headers['cache-control']).toBe('no-store');
    expect(head.body).toBe('');
  });
});

describe('HEAD on paths without GET', () => {
  it.each(['/auth/sessions', '/boxes/joins', '/oauth/token'])(
    'HEAD on %s is 405, Allow: POST, OPTIONS',
    async (path) => {
      const head = await sendRequest(fixture.server.url, 'HEAD', path);
      const patch = await sendRequest(fixture.server.url, 'PATCH', path);

      expect(head.status).toBe(405);
      expect(head.headers.allow).toBe('POST, OPTIONS');
      expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      expect(head.body).toBe('');
      expect(patch.headers.allow).toBe(head.headers.allow);
    },
  );

  it('HEAD on a POST-only path matches the API description', async () => {
    const head = await fixture.server.fetch('/auth/sessions', { method: 'HEAD' });

    expect(head.status).toBe(405);
  });

  it('HEAD on an unknown path is 404', async () => {
    const head = await sendRequest(fixture.server.url, 'HEAD', '/nowhere');

    expect(head.status).toBe(404);
    expect(head.body).toBe('');
  });
});

describe('HEAD request log', () => {
  const logs = useLoggingServer();

  it('names HEAD as the method', async () => {
    const head = await sendRequest(logs.server.url, 'HEAD', '/identities/me');
    const line = logs.lineFor(head.headers['x-request-id']);

    expect(head.status).toBe(401);
    expect(line).toMatchObject({
      msg: 'request completed',
      operation: 'getMyIdentity',
      method: 'HEAD',
      route: '/identities/me',
      status: 401,
    });
  });

  it('names HEAD on a page', async () => {
    const head = await sendRequest(logs.server.url, 'HEAD', '/openapi.json');
    const line = logs.lineFor(head.headers['x-request-id']);

    expect(line).toMatchObject({
      msg: 'request completed',
      operation: null,
      method: 'HEAD',
      route: '/openapi.json',
      status: 200,
    });
  });
});
