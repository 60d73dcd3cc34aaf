import openapiDocument from '@provisions/openapi/openapi.json' with { type: 'json' };
import { describe, expect, it, vi } from 'vitest';
import { ApiArgumentError, type ApiClientOptions, createApiClient } from '../src/index.js';
import { createFakeTransport, jsonResponse, onlyRequest } from './fake-transport.js';

const BASE_URL = 'http://127.0.0.1:8080';
const BOX_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const PUBLIC_KEY = 'eu87vEFWxCZcJaQSqiLMGMNvVlsp9uMO97SZcyHctRg';

describe('createApiClient', () => {
  it('sends bearer token when set', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: BASE_URL, token: 'abc.DEF-123_~+/=', ...transport });

    await client.GET('/identities/me');

    expect(onlyRequest(transport).headers.get('Authorization')).toBe('Bearer abc.DEF-123_~+/=');
  });

  it('sends no Authorization header without a token', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    await client.GET('/identities/me');

    expect(onlyRequest(transport).headers.has('Authorization')).toBe(false);
  });

  it('reads a token function on every request', async () => {
    const transport = createFakeTransport();
    const tokens = [undefined, 'first', '', 'second'];
    let calls = 0;
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: transport.fetch,
      token: () => tokens[calls++],
    });

    for (let i = 0; i < tokens.length; i++) {
      await client.GET('/identities/me');
    }

    const headers = transport.requests.map((request) => request.headers.get('Authorization'));
    expect(calls).toBe(4);
    expect(headers).toEqual([null, 'Bearer first', null, 'Bearer second']);
  });

  it('awaits a token function that returns a promise', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: transport.fetch,
      token: async () => 'later',
    });

    await client.GET('/identities/me');

    expect(onlyRequest(transport).headers.get('Authorization')).toBe('Bearer later');
  });

  it('keeps an Authorization header the caller set', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: BASE_URL, token: 'client-token', ...transport });

    await client.GET('/identities/me', { headers: { Authorization: 'Bearer request-token' } });

    expect(onlyRequest(transport).headers.get('Authorization')).toBe('Bearer request-token');
  });

  it('sends token to secured operations only', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: BASE_URL, token: 'tok', ...transport });
    const send = client.request as unknown as (
      method: string,
      path: string,
      init: { params: { path: Record<string, string> } },
    ) => Promise<unknown>;
    const operations = listOperations();

    for (const { method, path } of operations) {
      const pathParameters = Object.fromEntries(
        [...path.matchAll(/\{([^}]+)\}/g)].map((match) => [match[1], 'x']),
      );
      await send(method, path, { params: { path: pathParameters } });
    }

    const sent = transport.requests.map((request, index) => ({
      operation: `${request.method} ${operations[index]?.path}`,
      authorization: request.headers.get('Authorization'),
    }));
    const expected = operations.map(({ method, path, public: isPublic }) => ({
      operation: `${method.toUpperCase()} ${path}`,
      authorization: isPublic ? null : 'Bearer tok',
    }));
    expect(sent).toEqual(expected);
    expect(expected.filter((entry) => entry.authorization === null)).toHaveLength(4);
  });

  it('rejects malformed token without echoing it', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: transport.fetch,
      token: () => 'secret value\r\n',
    });

    const failure = client.GET('/identities/me');

    await expect(failure).rejects.toThrow(TypeError);
    await expect(failure).rejects.toThrow(/14-character token/);
    await expect(failure).rejects.not.toThrow(/secret/);
    expect(transport.requests).toHaveLength(0);
  });

  it('rejects a fixed invalid token when created', () => {
    const create = () => createApiClient({ baseUrl: BASE_URL, token: 'has space' });

    expect(create).toThrow(TypeError);
    expect(create).toThrow(/9-character token contains others/);
  });

  it('rejects a missing baseUrl', () => {
    const create = () => createApiClient({ baseUrl: '' });

    expect(create).toThrow(TypeError);
    expect(create).toThrow(/baseUrl must be a non-empty string/);
  });

  it.each([
    ['a string that is not a URL', 'not a url', /baseUrl must be an http or https URL.*not a URL/],
    ['an ftp URL', 'ftp://127.0.0.1/api', /baseUrl must be an http or https URL.*not ftp:$/],
    ['a path outside a browser', '/api', /"\/api" works only in a browser page/],
    ['a user name and password', 'http://ada:pw-123@127.0.0.1', /must not contain a user name/],
    ['a query', 'http://127.0.0.1:8080/api?version=1', /must not contain a query/],
    ['a fragment', 'http://127.0.0.1:8080/#api', /must not contain a query \(\?\) or fragment/],
    ['an empty query', 'http://127.0.0.1:8080/?', /must not contain a query/],
  ])('rejects a baseUrl with %s', (_case, baseUrl, message) => {
    const create = () => createApiClient({ baseUrl });

    expect(create).toThrow(ApiArgumentError);
    expect(create).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(create).toThrow(message);
    expect(create).not.toThrow(/pw-123/);
  });

  it('accepts an https baseUrl with a path', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: 'https://api.example.com/v1/', ...transport });

    await client.GET('/identities/me');

    expect(onlyRequest(transport).url).toBe('https://api.example.com/v1/identities/me');
  });

  it('accepts a path as baseUrl in a browser page', () => {
    vi.stubGlobal('location', { href: 'https://app.example.com/join' });
    try {
      expect(() => createApiClient({ baseUrl: '/api' })).not.toThrow();
      expect(() => createApiClient({ baseUrl: 'api' })).toThrow(/this string is not a URL/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it.each([
    ['null', null, /options must be an object .*received null/],
    ['a string', 'http://127.0.0.1:8080', /options must be an object .*received string/],
  ])('rejects options that are %s', (_case, options, message) => {
    const create = () => createApiClient(options as unknown as ApiClientOptions);

    expect(create).toThrow(ApiArgumentError);
    expect(create).toThrow(message);
  });

  it('rejects a fetch that is not a function', () => {
    const fetch = {} as unknown as ApiClientOptions['fetch'];
    const create = () => createApiClient({ baseUrl: BASE_URL, fetch });

    expect(create).toThrow(ApiArgumentError);
    expect(create).toThrow('fetch must be a function or undefined, received object');
  });

  it('gives token errors a code', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch, token: () => '@' });
    const create = () =>
      createApiClient({ baseUrl: BASE_URL, token: 42 as unknown as ApiClientOptions['token'] });

    await expect(client.GET('/identities/me')).rejects.toMatchObject({
      name: 'ApiArgumentError',
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect(create).toThrow(ApiArgumentError);
    expect(create).toThrow('token must be a string or a function, received number');
  });

  it('builds URLs from path and query parameters', async () => {
    const transport = createFakeTransport();
    const client = createApiClient({ baseUrl: `${BASE_URL}/`, fetch: transport.fetch });

    await client.GET('/boxes/{id}/events', {
      params: { path: { id: BOX_ID }, query: { cursor: 'abc_-', limit: 10 } },
    });

    expect(onlyRequest(transport).url).toBe(
      `${BASE_URL}/boxes/${BOX_ID}/events?cursor=abc_-&limit=10`,
    );
  });

  it('sends a JSON body for box creation', async () => {
    const transport = createFakeTransport(() => jsonResponse(201, {}));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });
    const body = { title: 'Payslips', public_key: PUBLIC_KEY, crypto: { invitation_data: {} } };

    await client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: BOX_ID }, header: { 'Idempotency-Key': 'retry-1' } },
      body,
    });

    const request = onlyRequest(transport);
    expect(request.method).toBe('POST');
    expect(request.headers.get('Content-Type')).toBe('application/json');
    expect(request.headers.get('Idempotency-Key')).toBe('retry-1');
    expect(await request.json()).toEqual(body);
  });
});

interface DocumentOperation {
  method: string;
  path: string;
  public: boolean;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

function listOperations(): DocumentOperation[] {
  return Object.entries(openapiDocument.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => {
        // An operation-level `security` overrides the document's bearer default; the
        // operation takes no bearer token unless one of its requirements names `bearer`.
        const security = (operation as { security?: Record<string, unknown>[] }).security;
        const takesBearer =
          security === undefined || security.some((requirement) => 'bearer' in requirement);
        return { method, path, public: !takesBearer };
      }),
  );
}
