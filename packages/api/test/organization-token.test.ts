import { describe, expect, it } from 'vitest';
import {
  ApiArgumentError,
  ApiError,
  createApiClient,
  type OrganizationCredentials,
  requestOrganizationToken,
  UnexpectedResponseError,
} from '../src/index.js';
import { createFakeTransport, jsonResponse, onlyRequest } from './fake-transport.js';

const BASE_URL = 'http://127.0.0.1:8080';
const CLIENT_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const ACCESS_TOKEN = { access_token: 'org-token', token_type: 'Bearer', expires_in: 3600 };

describe('requestOrganizationToken', () => {
  it('posts the client credentials as a form body', async () => {
    const transport = createFakeTransport(() => jsonResponse(200, ACCESS_TOKEN));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    await requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 's3cr&t =+%' });

    const request = onlyRequest(transport);
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`${BASE_URL}/oauth/token`);
    expect(request.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(await request.text()).toBe(
      `grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=s3cr%26t+%3D%2B%25`,
    );
  });

  it('returns the access token', async () => {
    const transport = createFakeTransport(() => jsonResponse(200, ACCESS_TOKEN));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const token = await requestOrganizationToken(client, {
      clientId: CLIENT_ID,
      clientSecret: 'secret',
    });

    expect(token).toEqual(ACCESS_TOKEN);
  });

  it('sends no bearer token with the credentials', async () => {
    const transport = createFakeTransport(() => jsonResponse(200, ACCESS_TOKEN));
    const client = createApiClient({ baseUrl: BASE_URL, token: 'expired', ...transport });

    await requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 'secret' });

    expect(onlyRequest(transport).headers.has('Authorization')).toBe(false);
  });

  it('throws ApiError on wrong credentials', async () => {
    const problem = {
      type: 'https://provisions.example/problems/invalid-client',
      title: 'Invalid client',
      status: 401,
      detail: 'The client id or secret is wrong.',
    };
    const transport = createFakeTransport(() =>
      jsonResponse(401, problem, 'application/problem+json'),
    );
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const failure = requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 'x' });

    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 401, problem });
  });

  it('rejects empty credentials without sending them', async () => {
    const transport = createFakeTransport(() => jsonResponse(200, ACCESS_TOKEN));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const noId = requestOrganizationToken(client, { clientId: '', clientSecret: 'secret' });
    const noSecret = requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: '' });

    await expect(noId).rejects.toThrow(TypeError);
    await expect(noId).rejects.toThrow(
      'clientId must be a non-empty string, received an empty string',
    );
    await expect(noSecret).rejects.toThrow(TypeError);
    await expect(noSecret).rejects.toThrow('clientSecret must be a non-empty string');
    expect(transport.requests).toHaveLength(0);
  });

  it('rejects an HTML page in place of the token', async () => {
    const page = '<!doctype html><html><body>Sign in</body></html>';
    const transport = createFakeTransport(
      () => new Response(page, { headers: { 'Content-Type': 'text/html' } }),
    );
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const failure = requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 's' });

    await expect(failure).rejects.toBeInstanceOf(UnexpectedResponseError);
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_API_UNEXPECTED_RESPONSE',
      method: 'POST',
      path: '/oauth/token',
    });
    await expect(failure).rejects.toThrow(
      /^POST \/oauth\/token: the server responded 200 with a body of type text\/html where the API sends JSON/,
    );
  });

  it.each([
    [
      'a number as access_token',
      { ...ACCESS_TOKEN, access_token: 5 },
      'access_token: expected a non-empty string, received number',
    ],
    [
      'an empty access_token',
      { ...ACCESS_TOKEN, access_token: '' },
      'access_token: expected a non-empty string, received an empty string',
    ],
    [
      'another token_type',
      { ...ACCESS_TOKEN, token_type: 'mac' },
      'token_type: expected "Bearer", received "mac"',
    ],
    [
      'no token_type',
      { access_token: 'tok', expires_in: 60 },
      'token_type: expected "Bearer", received undefined',
    ],
    [
      'expires_in as a string',
      { ...ACCESS_TOKEN, expires_in: '3600' },
      'expires_in: expected a whole number of seconds of at least 1, received string',
    ],
    [
      'expires_in of 0',
      { ...ACCESS_TOKEN, expires_in: 0 },
      'expires_in: expected a whole number of seconds of at least 1, received 0',
    ],
    ['an array', [ACCESS_TOKEN], 'expected a JSON object, received an array'],
    ['null', null, 'expected a JSON object, received null'],
  ])('rejects a token response with %s', async (_case, body, problem) => {
    const transport = createFakeTransport(() => jsonResponse(200, body));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const failure = requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 's' });

    await expect(failure).rejects.toBeInstanceOf(UnexpectedResponseError);
    await expect(failure).rejects.toThrow(
      `POST /oauth/token: the server responded 200 with a body that is not an access token: ${problem}; check that the base URL points to the provisions API`,
    );
  });

  it('accepts a token type in lower case', async () => {
    const token = { ...ACCESS_TOKEN, token_type: 'bearer' };
    const transport = createFakeTransport(() => jsonResponse(200, token));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const received = requestOrganizationToken(client, { clientId: CLIENT_ID, clientSecret: 's' });

    await expect(received).resolves.toEqual(token);
  });

  it('rejects a missing client or credentials', async () => {
    const transport = createFakeTransport(() => jsonResponse(200, ACCESS_TOKEN));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });
    const credentials = { clientId: CLIENT_ID, clientSecret: 'secret' };

    const noClient = requestOrganizationToken(undefined as unknown as typeof client, credentials);
    const noCredentials = requestOrganizationToken(
      client,
      null as unknown as OrganizationCredentials,
    );

    await expect(noClient).rejects.toBeInstanceOf(ApiArgumentError);
    await expect(noClient).rejects.toThrow(
      'client must be a client from createApiClient(), received undefined',
    );
    await expect(noCredentials).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(noCredentials).rejects.toThrow(
      'credentials must be an object with clientId and clientSecret, received null',
    );
    expect(transport.requests).toHaveLength(0);
  });
});
