import { createHash, randomBytes } from 'node:crypto';
import type { AccessToken, Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeSql } from './support/test-database.js';
import { TestServer } from './support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start();
});

afterAll(async () => {
  await server.stop();
});

const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

/** Sends a client credentials grant to `POST /oauth/token`, or to `path` when given. */
function requestToken(
  authorization: string | undefined,
  fields: Record<string, string>,
  path = '/oauth/token',
) {
  return server.fetch(path, {
    method: 'POST',
    headers: {
      ...formHeaders,
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }),
  });
}

describe('POST /oauth/token', () => {
  it('issues an organization token for one hour', async () => {
    const organization = await server.organization();

    const response = await requestToken(undefined, {
      client_id: organization.id,
      client_secret: organization.client_secret,
    });
    const token = (await response.json()) as AccessToken;

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(token.token_type).toBe('Bearer');
    expect(token.expires_in).toBe(3600);
    expect(token.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('rejects a wrong secret and an unknown client alike', async () => {
    const organization = await server.organization();
    const attempts = [
      { client_id: organization.id, client_secret: `${organization.client_secret}x` },
      {
        client_id: '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11',
        client_secret: organization.client_secret,
      },
    ];

    for (const credentials of attempts) {
      const response = await requestToken(undefined, credentials);
      const problem = (await response.json()) as Problem;

      expect(response.status).toBe(401);
      expect(problem.type).toBe('urn:provisions:problem:invalid-client');
      expect(problem.error).toBe('invalid_client');
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="provisions"');
      expect(JSON.stringify(problem)).not.toContain(organization.client_secret);
    }
  });

  it('rejects a JSON body with 415', async () => {
    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(415);
    expect(problem.errors).toEqual([{ header: 'Content-Type', detail: expect.any(String) }]);
  });

  it('rejects another grant type with a pointer', async () => {
    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: formHeaders,
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11',
        client_secret: 'secret',
      }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([
      { pointer: '/grant_type', detail: 'must be "client_credentials"' },
    ]);
    expect(problem.error).toBe('unsupported_grant_type');
  });

  it.each(['grant_type', 'client_id', 'scope'])('rejects %s given twice', async (field) => {
    const organization = await server.organization();
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: organization.id,
      client_secret: organization.client_secret,
      scope: 'anything',
    });
    body.append(field, body.get(field) ?? '');

    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: formHeaders,
      body,
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.error).toBe('invalid_request');
    expect(problem.errors).toEqual([{ pointer: `/${field}`, detail: 'appears more than once' }]);
  });

  it('reports every repeated parameter', async () => {
    const body = 'grant_type=a&grant_type=b&client_id=x&client_id=y&client_secret=s';

    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: formHeaders,
      body,
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.error).toBe('invalid_request');
    expect(problem.detail).toBe(
      'the request body contains the parameters "grant_type" and "client_id" more than once; send each once',
    );
    expect(problem.errors).toEqual([
      { pointer: '/grant_type', detail: 'appears more than once' },
      { pointer: '/client_id', detail: 'appears more than once' },
    ]);
  });

  it('reports a parameter given three times once', async () => {
    const body =
      'grant_type=client_credentials&client_id=x&client_id=y&client_id=z&client_secret=s';

    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: formHeaders,
      body,
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ pointer: '/client_id', detail: 'appears more than once' }]);
  });

  it('keeps a malformed query string out of caches', async () => {
    const organization = await server.organization();

    const response = await requestToken(
      undefined,
      { client_id: organization.id, client_secret: organization.client_secret },
      '/oauth/token?x=%2',
    );
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('expires organization tokens after one hour', async () => {
    const organization = await server.organization();
    const lookup = () =>
      organization.client.GET('/identities/public-keys', {
        params: { query: { identifier: 'nobody@example.com' } },
      });

    server.clock.advance(3599);
    expect((await lookup()).response.status).toBe(200);

    server.clock.advance(1);
    const { response, error } = await lookup();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(error?.type).toBe('urn:provisions:problem:unauthorized');
  });
});

describe('POST /auth/email-codes', () => {
  it('writes the code to the outbox under the normalized address', async () => {
    const before = Date.now();
    const { data, response } = await server
      .client()
      .POST('/auth/email-codes', { body: { email: ' Mail.Test@Example.COM ' } });
    const line = (await server.outbox()).at(-1);

    expect(response.status).toBe(202);
    expect(line?.to).toBe('mail.test@example.com');
    expect(line?.code).toMatch(/^[0-9]{6}$/);
    expect(line?.text).toContain(line?.code);
    expect(line?.subject).toBe('Your sign-in code');
    expect(Date.parse(line?.created_at ?? '')).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(data?.expires_at ?? '')).toBe(Date.parse(line?.created_at ?? '') + 600_000);
  });

  it('responds alike with or without an account', async () => {
    const person = await server.signIn();
    const known = await server
      .client()
      .POST('/auth/email-codes', { body: { email: person.identity.email } });
    const unknown = await server
      .client()
      .POST('/auth/email-codes', { body: { email: server.newEmail() } });

    expect(known.response.status).toBe(202);
    expect(unknown.response.status).toBe(202);
    expect(Object.keys(known.data ?? {})).toEqual(Object.keys(unknown.data ?? {}));
  });

  it('rejects an invalid address with 422 and a pointer', async () => {
    const { response, error } = await server
      .client()
      .POST('/auth/email-codes', { body: { email: 'no-at-sign.example.com' } });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe('/email');
    expect(error?.errors?.[0]?.detail).toContain('"@"');
  });

  it('limits codes per address per hour with 429 and Retry-After', async () => {
    const email = server.newEmail();
    for (let sent = 0; sent < 5; sent += 1) {
      await server.requestCode(email);
    }

    const { response, error } = await server
      .client()
      .POST('/auth/email-codes', { body: { email } });
    expect(response.status).toBe(429);
    expect(error?.type).toBe('urn:provisions:problem:too-many-email-codes');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(3500);

    server.clock.advance(3601);
    expect(
      (await server.client().POST('/auth/email-codes', { body: { email } })).response.status,
    ).toBe(202);
  });

  it('gives the wait in minutes and Retry-After in seconds', async () => {
    const email = server.newEmail();
    for (let sent = 0; sent < 5; sent += 1) {
      await server.requestCode(email);
    }
    server.clock.advance(541);

    const { response, error } = await server
      .client()
      .POST('/auth/email-codes', { body: { email } });

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3059');
    expect(error?.detail).toBe('this address got 5 codes in the last hour; retry in 51 minutes');
  });
});

describe('POST /auth/sessions', () => {
  it('creates the identity on first sign-in and reuses it after', async () => {
    const first = await server.signIn('Session.Person@Example.com');
    const second = await server.signIn(' session.person@example.com ');

    expect(first.identity.email).toBe('session.person@example.com');
    expect(first.identity.public_key).toBeNull();
    expect(second.identity.id).toBe(first.identity.id);
    expect(second.token).not.toBe(first.token);
  });

  it('accepts a code once', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);

    const first = await server.client().POST('/auth/sessions', { body: { email, code } });
    const second = await server.client().POST('/auth/sessions', { body: { email, code } });

    expect(first.response.status).toBe(201);
    expect(first.data?.expires_in).toBe(86_400);
    expect(second.response.status).toBe(401);
    expect(second.error?.type).toBe('urn:provisions:problem:invalid-email-code');
  });

  it('rejects a code after ten minutes', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);

    server.clock.advance(600);
    const { response } = await server.client().POST('/auth/sessions', { body: { email, code } });

    expect(response.status).toBe(401);
  });

  it('accepts a code just before it expires', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);

    server.clock.advance(599);
    const { response } = await server.client().POST('/auth/sessions', { body: { email, code } });

    expect(response.status).toBe(201);
  });

  it('locks a code on the fifth wrong try', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);
    const wrong = code === '000000' ? '111111' : '000000';

    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const { response, error } = await server
        .client()
        .POST('/auth/sessions', { body: { email, code: wrong } });
      expect(response.status).toBe(401);
      expect(error?.type).toBe('urn:provisions:problem:invalid-email-code');
      expect(error?.detail).not.toContain(code);
    }
    const fifth = await server.client().POST('/auth/sessions', { body: { email, code: wrong } });

    expect(fifth.response.status).toBe(401);
    expect(fifth.error?.type).toBe('urn:provisions:problem:email-code-locked');
    expect(fifth.error?.title).toBe('Sign-in code locked');
    expect(fifth.error?.detail).toContain('now locked after 5 wrong tries');
    expect(fifth.error?.detail).toContain('request a new one');
    expect(fifth.error?.detail).not.toContain(code);
  });

  it('rejects the right code once locked', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      await server.client().POST('/auth/sessions', { body: { email, code: wrong } });
    }

    const { response, error } = await server
      .client()
      .POST('/auth/sessions', { body: { email, code } });

    expect(response.status).toBe(401);
    expect(error?.type).toBe('urn:provisions:problem:email-code-locked');
    expect(error?.title).toBe('Sign-in code locked');
    expect(error?.detail).toContain('locked after 5 wrong tries');
  });

  it('unlocks with a new code', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await server.client().POST('/auth/sessions', { body: { email, code: wrong } });
    }

    const { code: newCode } = await server.requestCode(email);
    const { response } = await server
      .client()
      .POST('/auth/sessions', { body: { email, code: newCode } });

    expect(response.status).toBe(201);
  });

  it('accepts the right code after four wrong tries', async () => {
    const email = server.newEmail();
    const { code } = await server.requestCode(email);
    const wrong = code === '000000' ? '111111' : '000000';

    for (let attempt = 0; attempt < 4; attempt += 1) {
      await server.client().POST('/auth/sessions', { body: { email, code: wrong } });
    }
    const { response } = await server.client().POST('/auth/sessions', { body: { email, code } });

    expect(response.status).toBe(201);
  });

  it('replaces an earlier code with a new one', async () => {
    const email = server.newEmail();
    const first = await server.requestCode(email);
    const second = await server.requestCode(email);

    if (first.code !== second.code) {
      const stale = await server
        .client()
        .POST('/auth/sessions', { body: { email, code: first.code } });
      expect(stale.response.status).toBe(401);
    }
    const fresh = await server
      .client()
      .POST('/auth/sessions', { body: { email, code: second.code } });
    expect(fresh.response.status).toBe(201);
  });

  it('rejects a malformed code with 400', async () => {
    const { response, error } = await server
      .client()
      .POST('/auth/sessions', { body: { email: server.newEmail(), code: '12345' } });

    expect(response.status).toBe(400);
    expect(error?.errors?.[0]?.pointer).toBe('/code');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('expires person tokens after 24 hours', async () => {
    const person = await server.signIn();

    server.clock.advance(86_399);
    expect((await person.client.GET('/identities/me')).response.status).toBe(200);

    server.clock.advance(1);
    const { response } = await person.client.GET('/identities/me');
    expect(response.status).toBe(401);
  });
});

describe('bearer tokens', () => {
  it('rejects a missing token with 401 and WWW-Authenticate', async () => {
    const { response, error } = await server.client().GET('/identities/me');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(error?.type).toBe('urn:provisions:problem:unauthorized');
  });

  it('rejects an unknown token with 401', async () => {
    const { response } = await server.client('A'.repeat(43)).GET('/identities/me');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('rejects a non-bearer scheme with 401', async () => {
    const person = await server.signIn();
    const response = await server.fetch('/identities/me', {
      headers: { authorization: `Basic ${person.token}` },
    });

    expect(response.status).toBe(401);
  });

  it('rejects a person on an organization operation with 403', async () => {
    const person = await server.signIn();
    const { response, error } = await person.client.GET('/identities/public-keys', {
      params: { query: { identifier: 'a@example.com' } },
    });

    expect(response.status).toBe(403);
    expect(error?.type).toBe('urn:provisions:problem:wrong-principal');
  });

  it('rejects an organization on a person operation with 403', async () => {
    const organization = await server.organization();
    const { response } = await organization.client.GET('/identities/me');

    expect(response.status).toBe(403);
  });

  it('checks the token before the body', async () => {
    const response = await server.fetch('/identities/me/public-key', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });

    expect(response.status).toBe(401);
  });
});

describe('tokens kept in memory', () => {
  it('accepts cached token without its row', async () => {
    const person = await server.signIn();
    expect((await person.client.GET('/identities/me')).response.status).toBe(200);

    await executeSql(server, 'DELETE FROM access_tokens WHERE identity_id = ?', [
      person.identity.id,
    ]);

    expect((await person.client.GET('/identities/me')).response.status).toBe(200);
  });

  it('finds token row written after rejection', async () => {
    const person = await server.signIn();
    const token = randomBytes(32).toString('base64url');
    const client = server.client(token);
    expect((await client.GET('/identities/me')).response.status).toBe(401);

    await insertAccessToken(token, person.identity.id);
    const { data, response } = await client.GET('/identities/me');

    expect(response.status).toBe(200);
    expect(data?.id).toBe(person.identity.id);
  });

  it('rejects cached token once expired', async () => {
    const token = randomBytes(32).toString('base64url');
    const person = await server.signIn();
    await insertAccessToken(token, person.identity.id);
    expect((await server.client(token).GET('/identities/me')).response.status).toBe(200);

    server.clock.advance(3600);
    const { response } = await server.client(token).GET('/identities/me');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });
});

/** Inserts an access token row for `token` behind the server's back, valid for one hour. */
async function insertAccessToken(token: string, identityId: string): Promise<void> {
  const expiresAt = server.clock.now().getTime() + 3_600_000;
  await executeSql(
    server,
    'INSERT INTO access_tokens (token_hash, identity_id, expires_at) VALUES (?, ?, ?)',
    [createHash('sha256').update(token).digest(), identityId, expiresAt],
  );
}

/** Builds an `Authorization: Basic` value of a client id and secret, form-urlencoded first. */
function basic(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

describe('POST /oauth/token with HTTP Basic client authentication', () => {
  it('issues a working token', async () => {
    const organization = await server.organization();

    const response = await requestToken(basic(organization.id, organization.client_secret), {});
    const token = (await response.json()) as AccessToken;
    const lookup = await server.fetch('/identities/public-keys?identifier=nobody%40example.com', {
      headers: { authorization: `Bearer ${token.access_token}` },
    });

    expect(response.status).toBe(200);
    expect(token.token_type).toBe('Bearer');
    expect(lookup.status).toBe(200);
  });

  it('decodes percent-escaped credentials', async () => {
    const organization = await server.organization();
    const escapeAll = (value: string) =>
      [...value].map((character) => `%${character.charCodeAt(0).toString(16)}`).join('');
    const pair = `${escapeAll(organization.id)}:${escapeAll(organization.client_secret)}`;

    const response = await requestToken(`Basic ${Buffer.from(pair).toString('base64')}`, {});

    expect(response.status).toBe(200);
  });

  it('rejects a wrong secret', async () => {
    const organization = await server.organization();

    const response = await requestToken(basic(organization.id, 'wrong-secret'), {});
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(401);
    expect(problem.type).toBe('urn:provisions:problem:invalid-client');
    expect(problem.error).toBe('invalid_client');
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="provisions"');
  });

  it.each([
    ['an id that is not a UUID', 'organization'],
    ['an id with a NUL character', '\0'],
    ['an empty id', ''],
  ])('rejects %s with 401', async (_name, clientId) => {
    const organization = await server.organization();

    const response = await requestToken(basic(clientId, organization.client_secret), {});
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(401);
    expect(problem.error).toBe('invalid_client');
  });

  it('rejects credentials sent twice', async () => {
    const organization = await server.organization();

    for (const field of ['client_id', 'client_secret']) {
      const value = field === 'client_id' ? organization.id : organization.client_secret;
      const response = await requestToken(basic(organization.id, organization.client_secret), {
        [field]: value,
      });
      const problem = (await response.json()) as Problem;

      expect(response.status).toBe(400);
      expect(problem.error).toBe('invalid_request');
      expect(problem.errors).toEqual([{ header: 'Authorization', detail: expect.any(String) }]);
    }
  });

  it.each([
    ['no credentials', 'Basic'],
    ['a bearer token', 'Bearer abc'],
    ['text that is not base64', 'Basic !!!!'],
    ['base64 without padding', `Basic ${Buffer.from('a:bc').toString('base64url')}`],
    ['no colon', `Basic ${Buffer.from('no-colon').toString('base64')}`],
    ['a bad percent-escape', `Basic ${Buffer.from('%zz:secret').toString('base64')}`],
  ])('rejects a header with %s', async (_name, authorization) => {
    const response = await requestToken(authorization, {});
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.error).toBe('invalid_request');
    expect(problem.errors).toEqual([{ header: 'Authorization', detail: expect.any(String) }]);
  });

  it('ignores unknown and empty parameters', async () => {
    const organization = await server.organization();
    const authorization = basic(organization.id, organization.client_secret);

    const scoped = await requestToken(authorization, { scope: 'anything', resource: 'x' });
    const emptyFields = await requestToken(authorization, { client_id: '', client_secret: '' });

    expect(scoped.status).toBe(200);
    expect(emptyFields.status).toBe(200);
  });

  it('accepts an upper-case client id', async () => {
    const organization = await server.organization();

    const response = await requestToken(
      basic(organization.id.toUpperCase(), organization.client_secret),
      {},
    );

    expect(response.status).toBe(200);
  });

  it('rejects credentials not in UTF-8', async () => {
    const organization = await server.organization();
    const bytes = Buffer.concat([Buffer.from(`${organization.id}:`), Buffer.from([0xff, 0xfe])]);

    const response = await requestToken(`Basic ${bytes.toString('base64')}`, {});
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ header: 'Authorization', detail: expect.any(String) }]);
  });

  it('rejects a Bearer header with form credentials', async () => {
    const organization = await server.organization();

    const response = await requestToken('Bearer abc', {
      client_id: organization.id,
      client_secret: organization.client_secret,
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.detail).toBe(
      'the Authorization header of a token request must be Basic or absent',
    );
  });

  it('negotiates the error media type', async () => {
    const organization = await server.organization();

    const jsonOnly = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: { ...formHeaders, accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: organization.id,
        client_secret: 'wrong-secret',
      }),
    });
    const anything = await requestToken(basic(organization.id, 'wrong-secret'), {});
    const problem = (await jsonOnly.json()) as Problem;

    expect(jsonOnly.status).toBe(401);
    expect(jsonOnly.headers.get('content-type')).toMatch(/^application\/json/);
    expect(problem.error).toBe('invalid_client');
    expect(anything.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('rejects a request without body', async () => {
    const organization = await server.organization();

    const response = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: { authorization: basic(organization.id, organization.client_secret) },
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.error).toBe('invalid_request');
    expect(problem.detail).not.toContain('Authorization: Basic');
  });

  it('requires client_id without Basic', async () => {
    const response = await requestToken(undefined, {});
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.error).toBe('invalid_request');
    expect(problem.errors).toEqual([{ pointer: '/client_id', detail: expect.any(String) }]);
  });

  it('requires client_secret without Basic', async () => {
    const organization = await server.organization();

    const response = await requestToken(undefined, { client_id: organization.id });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ pointer: '/client_secret', detail: expect.any(String) }]);
  });
});
