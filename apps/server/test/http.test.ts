import { readFile } from 'node:fs/promises';
import type { Problem } from '@provisions/api';
import { encodeBase64Url, hashShare } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from '../src/index.js';
import { ApiContract } from './support/api-contract.js';
import { boxWithProvision, newBoxKeys } from './support/box-material.js';
import { useLoggingServer } from './support/logging-server.js';
import { parseResponses, RawConnection, sendRawRequest } from './support/raw-http.js';
import { TestServer, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

async function send(
  path: string,
  init: RequestInit,
): Promise<{ status: number; problem: Problem }> {
  const response = await fixture.server.fetch(path, init);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return { status: response.status, problem: (await response.json()) as Problem };
}

const json = { 'content-type': 'application/json' };

describe('malformed requests', () => {
  it('rejects invalid JSON with 400', async () => {
    const { status, problem } = await send('/auth/email-codes', {
      method: 'POST',
      headers: json,
      body: '{"email": ',
    });

    expect(status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.detail).toContain('not valid JSON');
  });

  it('rejects an empty JSON body with 400', async () => {
    const { status } = await send('/auth/email-codes', { method: 'POST', headers: json, body: '' });

    expect(status).toBe(400);
  });

  it('rejects a missing body with 400', async () => {
    const { status, problem } = await send('/auth/email-codes', { method: 'POST' });

    expect(status).toBe(400);
    expect(problem.errors).toEqual([{ pointer: '', detail: 'must be object' }]);
  });

  it('rejects a prototype key with 400', async () => {
    const { status } = await send('/auth/email-codes', {
      method: 'POST',
      headers: json,
      body: '{"email": "a@example.com", "__proto__": {"admin": true}}',
    });

    expect(status).toBe(400);
  });

  it('rejects a text body with 415', async () => {
    const { status, problem } = await send('/auth/email-codes', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'a@example.com',
    });

    expect(status).toBe(415);
    expect(problem.type).toBe('urn:provisions:problem:unsupported-media-type');
    expect(problem.detail).toContain('application/json');
  });

  it.each(['gzip', 'br, identity'])('rejects Content-Encoding %s with 415', async (encoding) => {
    const response = await fixture.server.fetch('/auth/email-codes', {
      method: 'POST',
      headers: { ...json, 'content-encoding': encoding },
      body: JSON.stringify({ email: 'a@example.com' }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(415);
    expect(response.headers.get('accept-encoding')).toBe('identity');
    expect(problem.detail).toBe(
      `send the request body without Content-Encoding, because this server does not decode ${encoding}`,
    );
    expect(problem.errors).toEqual([
      { header: 'Content-Encoding', detail: 'must be absent or identity' },
    ]);
  });

  it('accepts Content-Encoding identity', async () => {
    const response = await fixture.server.fetch('/auth/email-codes', {
      method: 'POST',
      headers: { ...json, 'content-encoding': 'identity' },
      body: JSON.stringify({ email: 'a@example.com' }),
    });

    expect(response.status).toBe(202);
  });

  it('rejects a form body on a JSON operation with 415', async () => {
    const { status } = await send('/auth/email-codes', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a%40example.com',
    });

    expect(status).toBe(415);
  });

  it('rejects an unknown field with a pointer to it', async () => {
    const { status, problem } = await send('/auth/email-codes', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'a@example.com', admin: true }),
    });

    expect(status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:invalid-request');
    expect(problem.errors).toEqual([{ pointer: '/admin', detail: 'is not a known field' }]);
  });

  it('lists every invalid field of a nested body', async () => {
    const { body } = await boxWithProvision('nested@example.com');
    const provision = body.crypto?.provisions?.['nested@example.com'];
    const broken = {
      ...body,
      title: '',
      crypto: {
        ...body.crypto,
        provisions: {
          'nested@example.com': { ...provision, misakey_key_share: 'short', extra: 1 },
        },
      },
    };

    const { status, problem } = await send(`/organizations/${fixture.organization.id}/boxes`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${fixture.organization.token}` },
      body: JSON.stringify(broken),
    });
    const pointers = problem.errors?.map((error) => error.pointer);

    expect(status).toBe(400);
    expect(pointers).toContain('/title');
    expect(pointers).toContain('/crypto/provisions/nested@example.com/misakey_key_share');
    expect(pointers).toContain('/crypto/provisions/nested@example.com/extra');
    expect(JSON.stringify(problem)).not.toContain(provision?.misakey_key_share);
  });

  it('rejects an invalid invitation key with a pointer to the key', async () => {
    const { body } = await boxWithProvision('keyname@example.com');
    const [sealed] = Object.values(body.crypto?.invitation_data ?? {});
    const broken = {
      ...body,
      crypto: { ...body.crypto, invitation_data: { 'not-a-key': sealed } },
    };

    const { status, problem } = await send(`/organizations/${fixture.organization.id}/boxes`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${fixture.organization.token}` },
      body: JSON.stringify(broken),
    });

    expect(status).toBe(400);
    expect(problem.errors?.[0]?.pointer).toBe('/crypto/invitation_data/not-a-key');
    expect(problem.errors?.[0]?.detail).toMatch(/^key /);
  });

  it('rejects an unknown query parameter naming it', async () => {
    const person = await fixture.server.signIn();
    const { status, problem } = await send('/crypto/actions?page=2', {
      headers: { authorization: `Bearer ${person.token}` },
    });

    expect(status).toBe(400);
    expect(problem.errors).toEqual([{ parameter: 'page', detail: 'is not a known parameter' }]);
  });

  it.each(['0x10', '%2010', '10%20', '%2B10', '1e1', '10.0', '0b1', ''])(
    'rejects limit=%s as not decimal digits',
    async (limit) => {
      const person = await fixture.server.signIn();
      const { status, problem } = await send(`/crypto/actions?limit=${limit}`, {
        headers: { authorization: `Bearer ${person.token}` },
      });

      expect(status).toBe(400);
      expect(problem.type).toBe('urn:provisions:problem:invalid-request');
      expect(problem.errors).toEqual([
        { parameter: 'limit', detail: 'must be an integer in decimal digits only, such as 50' },
      ]);
    },
  );

  it('checks limit of box events the same way', async () => {
    const { publicKey } = await newBoxKeys();
    const created = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body: { title: 'Limits', public_key: publicKey },
    });
    const path = `/boxes/${created.data?.id}/events`;
    const auth = { authorization: `Bearer ${fixture.organization.token}` };

    const hexadecimal = await send(`${path}?limit=0x10`, { headers: auth });
    const decimal = await fixture.server.fetch(`${path}?limit=010`, { headers: auth });

    expect(hexadecimal.status).toBe(400);
    expect(hexadecimal.problem.errors?.[0]?.parameter).toBe('limit');
    expect(decimal.status).toBe(200);
  });

  it('rejects an undecodable URL with 400', async () => {
    const { status, problem } = await send('/boxes/%E0%A4%A', { method: 'GET' });

    expect(status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.detail).not.toContain('%E0');
  });

  it('returns a 404 problem for an unknown route', async () => {
    const { status, problem } = await send('/admin', { method: 'GET' });

    expect(status).toBe(404);
    expect(problem.type).toBe('urn:provisions:problem:not-found');
  });

  it('returns a 405 problem for a wrong method', async () => {
    const { status, problem } = await send('/auth/sessions', { method: 'GET' });

    expect(status).toBe(405);
    expect(problem.type).toBe('urn:provisions:problem:method-not-allowed');
  });

  it('HEAD on pages and files works like GET', async () => {
    const page = await fetch(`${fixture.server.url}/join`);
    const asset = /\/assets\/[^"']+/.exec(await page.text())?.[0];
    expect(asset).toBeDefined();

    for (const path of ['/docs', '/join', '/openapi.json', asset ?? '']) {
      const get = await fetch(`${fixture.server.url}${path}`);
      const head = await fetch(`${fixture.server.url}${path}`, { method: 'HEAD' });

      expect({ path, status: head.status }).toEqual({ path, status: 200 });
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect(await head.text()).toBe('');
      expect((await get.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it.each(
    ['/join', '/join/', '/docs', '/openapi.json', '/assets/join.js'].flatMap((path) =>
      ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE'].map((method) => [method, path]),
    ),
  )('%s on page %s is 405, Allow: GET, HEAD, OPTIONS', async (method, path) => {
    const exchange = await sendRawRequest(
      fixture.server.url,
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );

    expect(exchange.status).toBe(405);
    expect(exchange.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(JSON.parse(exchange.body)).toMatchObject({
      type: 'urn:provisions:problem:method-not-allowed',
      detail: `this path accepts GET, HEAD, OPTIONS, not ${method}`,
    });
  });

  it.each(['', '?x=1'])('redirects /join/%s to /join with 301', async (query) => {
    const get = await fetch(`${fixture.server.url}/join/${query}`, { redirect: 'manual' });
    const head = await fetch(`${fixture.server.url}/join/${query}`, {
      method: 'HEAD',
      redirect: 'manual',
    });

    expect(get.status).toBe(301);
    expect(get.headers.get('location')).toBe(`/join${query}`);
    expect(get.headers.get('referrer-policy')).toBe('no-referrer');
    expect(head.status).toBe(301);
    expect(head.headers.get('location')).toBe(`/join${query}`);
  });

  it.each(['/docs/', '/openapi.json/', '/join//'])('leaves %s a 404', async (path) => {
    const response = await fetch(`${fixture.server.url}${path}`, { redirect: 'manual' });

    expect(response.status).toBe(404);
  });

  it.each([
    ['/auth/sessions', 405],
    ['/boxes/joins', 405],
    ['/nowhere', 404],
  ])('TRACE on %s is %i like other methods', async (path, status) => {
    const exchange = await sendRawRequest(
      fixture.server.url,
      `TRACE ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );

    expect(exchange.status).toBe(status);
  });

  it.each([
    ['DELETE', '/health'],
    ['POST', '/crypto/provisions'],
    ['PUT', '/boxes/3f1b1d9e-8b1e-4a57-9d55-2a1f8f0f0f0f'],
  ])('%s on GET-only API path %s is 405, Allow: GET, HEAD, OPTIONS', async (method, path) => {
    const response = await fixture.server.fetch(path, { method });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(problem.detail).toBe(`this path accepts GET, HEAD, OPTIONS, not ${method}`);
  });

  it('PUT on box events lists GET, HEAD, POST', async () => {
    const response = await fixture.server.fetch(
      '/boxes/3f1b1d9e-8b1e-4a57-9d55-2a1f8f0f0f0f/events',
      { method: 'PUT' },
    );

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
  });

  it.each(['GET', 'PUT', 'DELETE'])('%s on /boxes/joins is 405, not a box', async (method) => {
    const response = await fetch(`${fixture.server.url}/boxes/joins`, { method });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(problem.type).toBe('urn:provisions:problem:method-not-allowed');
    expect(problem.detail).toBe(`this path accepts POST, OPTIONS, not ${method}`);
  });

  it.each([
    ['/auth/sessions', 'POST, OPTIONS'],
    ['/boxes/joins', 'POST, OPTIONS'],
    ['/boxes/3f1b1d9e-8b1e-4a57-9d55-2a1f8f0f0f0f', 'GET, HEAD, OPTIONS'],
    ['/boxes/3f1b1d9e-8b1e-4a57-9d55-2a1f8f0f0f0f/events', 'GET, HEAD, POST, OPTIONS'],
    ['/health', 'GET, HEAD, OPTIONS'],
    ['/join', 'GET, HEAD, OPTIONS'],
    ['/openapi.json', 'GET, HEAD, OPTIONS'],
  ])('OPTIONS on %s is 204, Allow: %s', async (path, allow) => {
    const response = await fetch(`${fixture.server.url}${path}`, { method: 'OPTIONS' });

    expect(response.status).toBe(204);
    expect(response.headers.get('allow')).toBe(allow);
    expect(await response.text()).toBe('');
  });

  it.each(['/nope', '/boxes/joins/x', '/'])('OPTIONS on unknown path %s is 404', async (path) => {
    const { status, problem } = await send(path, { method: 'OPTIONS' });

    expect(status).toBe(404);
    expect(problem.type).toBe('urn:provisions:problem:not-found');
    expect(problem.detail).toBe('no operation matches OPTIONS on this path');
  });

  it('sets instance to the request id', async () => {
    const response = await fixture.server.fetch('/nowhere');
    const problem = (await response.json()) as Problem;

    expect(problem.instance).toBe(response.headers.get('x-request-id'));
    expect(problem.instance).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never returns 5xx for bad input', async () => {
    const person = await fixture.server.signIn();
    const auth = { authorization: `Bearer ${person.token}` };
    const orgAuth = { authorization: `Bearer ${fixture.organization.token}` };
    const cases: [string, RequestInit][] = [
      ['/boxes/%E0%A4%A', { headers: auth }],
      ['/boxes/00000000-0000-0000-0000-000000000000/events?limit=abc', { headers: auth }],
      ['/boxes/00000000-0000-0000-0000-000000000000/events?limit=1&limit=2', { headers: auth }],
      ['/crypto/actions?cursor=%00', { headers: auth }],
      ['/crypto/provisions?user_key_share_hash[]=x', { headers: auth }],
      ['/identities/me/public-key', { method: 'PUT', headers: { ...auth, ...json }, body: '[]' }],
      ['/identities/me/public-key', { method: 'PUT', headers: { ...auth, ...json }, body: 'null' }],
      ['/identities/me/public-key', { method: 'PUT', headers: { ...auth, ...json }, body: '"x"' }],
      ['/auth/sessions', { method: 'POST', headers: json, body: '{"email": 1, "code": []}' }],
      [
        '/oauth/token',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&grant_type=x&client_id=%ZZ',
        },
      ],
      [
        `/organizations/${fixture.organization.id}/boxes`,
        {
          method: 'POST',
          headers: { ...orgAuth, ...json },
          body: '{"title": "t", "public_key": 5}',
        },
      ],
      [
        `/organizations/${fixture.organization.id}/boxes`,
        {
          method: 'POST',
          headers: { ...orgAuth, ...json },
          body: JSON.stringify({
            title: 't',
            public_key: `${'A'.repeat(42)}A`,
            crypto: { provisions: { '\u0000@example.com': {} } },
          }),
        },
      ],
    ];

    for (const [path, init] of cases) {
      const response = await fixture.server.fetch(path, init);
      expect(response.status, `${init.method ?? 'GET'} ${path}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(500);
    }
  });
});

describe('problem types', () => {
  it('are listed in the README with the same title and status', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [
      ...readme.matchAll(/^\| `(urn:provisions:problem:[a-z-]+)` *\| (\d{3}) *\| ([^|]+)\|/gm),
    ];
    const documented = rows.map(([, type, status, title]) => ({
      type,
      status: Number(status),
      title: title?.trim(),
    }));

    expect(documented).toEqual(
      Object.values(PROBLEM_TYPES).map(({ type, status, title }) => ({ type, status, title })),
    );
  });
});

describe('response contract check', () => {
  it('rejects a body that breaks its schema', async () => {
    const contract = new ApiContract();
    const response = new Response(JSON.stringify({ id: 'x' }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });

    await expect(
      contract.check('GET', 'http://test/boxes/0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11', response),
    ).rejects.toThrow(/does not match the schema/);
  });

  it('rejects a status the operation does not declare', async () => {
    const contract = new ApiContract();
    const response = new Response('', { status: 418 });

    await expect(contract.check('GET', 'http://test/identities/me', response)).rejects.toThrow(
      /status not declared/,
    );
  });

  it('checks HEAD against the GET operation', async () => {
    const contract = new ApiContract();
    const response = new Response(null, {
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': '15' },
    });

    await expect(contract.check('HEAD', 'http://test/health', response)).resolves.toBeUndefined();
  });

  it('rejects a HEAD response with a body', async () => {
    const contract = new ApiContract();
    const response = new Response('{"status":"ok"}', {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });

    await expect(contract.check('HEAD', 'http://test/health', response)).rejects.toThrow(
      /expected an empty body/,
    );
  });

  it('rejects a HEAD status that GET does not declare', async () => {
    const contract = new ApiContract();
    const response = new Response(null, { status: 401 });

    await expect(contract.check('HEAD', 'http://test/health', response)).rejects.toThrow(
      /status not declared for GET \/health/,
    );
  });

  it('rejects a HEAD media type that GET does not declare', async () => {
    const contract = new ApiContract();
    const response = new Response(null, {
      status: 200,
      headers: { 'content-type': 'text/html' },
    });

    await expect(contract.check('HEAD', 'http://test/health', response)).rejects.toThrow(
      /media type "text\/html" not declared/,
    );
  });

  it('checked every response of this file', () => {
    expect(fixture.server.contract.checkedResponses).toBeGreaterThan(20);
  });
});

describe('CORS', () => {
  let appServer: TestServer;

  beforeAll(async () => {
    appServer = await TestServer.start({ appUrl: 'http://app.localhost:5173/' });
  });

  afterAll(async () => {
    await appServer.stop();
  });

  it('allows the app origin, including on errors', async () => {
    const response = await appServer.fetch('/identities/me', {
      headers: { origin: 'http://app.localhost:5173' },
    });

    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://app.localhost:5173');
    expect(response.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
  });

  it('allows a preflight from the app origin', async () => {
    const response = await appServer.fetch('/auth/sessions', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('Idempotency-Key');
  });

  it('allows a preflight on any path', async () => {
    const response = await fetch(`${appServer.url}/nope`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.localhost:5173', 'access-control-request-method': 'GET' },
    });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://app.localhost:5173');
    expect(response.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('lists Allow for OPTIONS without preflight', async () => {
    const response = await appServer.fetch('/auth/sessions', { method: 'OPTIONS' });

    expect(response.status).toBe(204);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('rejects OPTIONS on an unknown path', async () => {
    const response = await appServer.fetch('/nope', { method: 'OPTIONS' });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(404);
    expect(problem.type).toBe('urn:provisions:problem:not-found');
  });

  it('gives a preflight from another origin no CORS headers', async () => {
    const response = await appServer.fetch('/auth/sessions', {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.localhost', 'access-control-request-method': 'POST' },
    });

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('gives other origins no CORS headers', async () => {
    const response = await appServer.fetch('/identities/me', {
      headers: { origin: 'http://evil.localhost' },
    });

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives no CORS headers without an app URL', async () => {
    const response = await fixture.server.fetch('/identities/me', {
      headers: { origin: 'http://app.localhost:5173' },
    });

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('logging', () => {
  const logs = useLoggingServer();

  it.each([
    ['text that is not HTTP', 'GARBAGE\r\n\r\n'],
    [
      'both Transfer-Encoding and Content-Length',
      'POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
    ],
  ])('gives %s a logged request id', async (_case, request) => {
    const exchange = await sendRawRequest(logs.server.url, request);
    const problem = JSON.parse(exchange.body) as Problem;
    const line = logs.lineFor(problem.instance);

    expect(exchange.status).toBe(400);
    expect(problem.detail).toBe('the request is not valid HTTP/1.1');
    expect(problem.instance).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(exchange.headers['x-request-id']).toBe(problem.instance);
    expect(exchange.headers['cache-control']).toBe('no-store');
    expect(Date.parse(exchange.headers.date ?? '')).not.toBeNaN();
    expect(line?.msg).toBe('request rejected before routing');
    expect(line?.status).toBe(400);
  });

  it('logs invalid pipelined request', async () => {
    const connection = await RawConnection.open(logs.server.url);
    connection.write('GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGARBAGE\r\n\r\n');
    await connection.closedByServer(5000);
    const [document, rejected] = parseResponses(connection.received);
    const problem = JSON.parse(rejected?.body ?? '{}') as Problem;

    expect(document?.status).toBe(200);
    expect((JSON.parse(document?.body ?? '{}') as { openapi?: string }).openapi).toMatch(/^3\.1\./);
    expect(rejected?.status).toBe(400);
    expect(logs.lineFor(problem.instance)).toMatchObject({
      msg: 'request rejected before routing',
      error_code: 'HPE_INVALID_METHOD',
    });
  });

  it('logs the peer address, ignoring X-Forwarded-For', async () => {
    const response = await fetch(`${logs.server.url}/openapi.json`, {
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    const line = logs.lineFor(response.headers.get('x-request-id') ?? undefined);

    expect(response.status).toBe(200);
    expect(line?.msg).toBe('request completed');
    expect(line?.remote_address).toBe('127.0.0.1');
  });

  it('logs route patterns and never tokens, codes, hashes or shares', async () => {
    const email = logs.server.newEmail();
    const org = await logs.server.organization();
    const { body, provision } = await boxWithProvision(email);
    await org.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: org.id } },
      body,
    });
    const { code } = await logs.server.requestCode(email);
    const session = await logs.server.client().POST('/auth/sessions', { body: { email, code } });
    const token = session.data?.access_token ?? '';
    const hash = encodeBase64Url(await hashShare(provision.userKeyShare));
    await logs.server.client(token).GET('/crypto/provisions', {
      params: { query: { user_key_share_hash: hash } },
    });

    const lines = logs.lines();
    const completed = lines.filter((line) => line.msg === 'request completed');

    expect(completed.map((line) => line.route)).toContain('/crypto/provisions');
    expect(completed.every((line) => typeof line.request_id === 'string')).toBe(true);
    for (const secret of [
      token,
      org.token,
      org.client_secret,
      code,
      hash,
      provision.payload.misakey_key_share,
    ]) {
      expect(logs.text()).not.toContain(secret);
    }
  });
});

describe('logging behind a trusted proxy', () => {
  const logs = useLoggingServer('info', ['127.0.0.1']);

  it('logs the forwarded client address', async () => {
    const response = await fetch(`${logs.server.url}/openapi.json`, {
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    const line = logs.lineFor(response.headers.get('x-request-id') ?? undefined);

    expect(response.status).toBe(200);
    expect(line?.remote_address).toBe('203.0.113.7');
  });

  it('logs the peer address without X-Forwarded-For', async () => {
    const response = await fetch(`${logs.server.url}/openapi.json`);
    const line = logs.lineFor(response.headers.get('x-request-id') ?? undefined);

    expect(line?.remote_address).toBe('127.0.0.1');
  });
});
