import { describe, expect, it } from 'vitest';
import { boxWithProvision, newBoxKeys } from './support/box-material.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

describe('GET /identities/me', () => {
  it('returns the signed-in identity', async () => {
    const person = await fixture.server.signIn('Me.Myself@Example.com');

    const { data } = await person.client.GET('/identities/me');

    expect(data).toEqual(person.identity);
    expect(data?.email).toBe('me.myself@example.com');
  });
});

describe('PUT /identities/me/public-key', () => {
  it('registers and replaces the identity public key', async () => {
    const person = await fixture.server.signIn();
    const [first, second] = [await newBoxKeys(), await newBoxKeys()];

    const set = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: first.publicKey },
    });
    const same = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: first.publicKey },
    });
    const replaced = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: second.publicKey },
    });

    expect(set.data?.public_key).toBe(first.publicKey);
    expect(same.response.status).toBe(200);
    expect(replaced.data?.public_key).toBe(second.publicKey);
  });

  it("rejects another identity's key with 409", async () => {
    const [owner, copier] = [await fixture.server.signIn(), await fixture.server.signIn()];
    const keys = await newBoxKeys();
    await owner.client.PUT('/identities/me/public-key', { body: { public_key: keys.publicKey } });

    const { response, error } = await copier.client.PUT('/identities/me/public-key', {
      body: { public_key: keys.publicKey },
    });

    expect(response.status).toBe(409);
    expect(error?.type).toBe('urn:provisions:problem:key-in-use');
    expect(error?.errors).toEqual([{ pointer: '/public_key', detail: 'is already in use' }]);
  });

  it("rejects a provision's key with 409", async () => {
    const { body, provision } = await boxWithProvision(fixture.server.newEmail());
    await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body,
    });
    const person = await fixture.server.signIn();

    const { response } = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: provision.payload.public_key },
    });

    expect(response.status).toBe(409);
  });

  it('rejects a key with non-canonical trailing bits with 400', async () => {
    const person = await fixture.server.signIn();
    const { response, error } = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: `${'A'.repeat(42)}B` },
    });

    expect(response.status).toBe(400);
    expect(error?.errors?.[0]?.pointer).toBe('/public_key');
    expect(error?.errors?.[0]?.detail).toContain('43 characters');
  });

  it('rejects an organization token with 403', async () => {
    const keys = await newBoxKeys();
    const { response } = await fixture.organization.client.PUT('/identities/me/public-key', {
      body: { public_key: keys.publicKey },
    });

    expect(response.status).toBe(403);
  });
});

describe('GET /identities/public-keys', () => {
  it("returns the identity key and only the caller's provisions", async () => {
    const email = fixture.server.newEmail();
    const other = await fixture.server.organization('Other');
    const mine = await boxWithProvision(email);
    const theirs = await boxWithProvision(email);
    for (const [by, body] of [
      [fixture.organization, mine.body],
      [other, theirs.body],
    ] as const) {
      await by.client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: by.id } },
        body,
      });
    }
    const person = await fixture.server.signIn(email);
    const keys = await newBoxKeys();
    await person.client.PUT('/identities/me/public-key', { body: { public_key: keys.publicKey } });

    const { data } = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: ` ${email.toUpperCase()} ` } },
    });

    expect(data?.identifier).toBe(email);
    expect(data?.identity_public_key).toBe(keys.publicKey);
    expect(data?.provisions.map((item) => item.public_key)).toEqual([
      mine.provision.payload.public_key,
    ]);
  });

  it('returns null and no provisions for an unknown address', async () => {
    const { data } = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: 'unknown@example.com' } },
    });

    expect(data).toEqual({
      identifier: 'unknown@example.com',
      identity_public_key: null,
      provisions: [],
    });
  });

  it('rejects an invalid address with 422 naming the parameter', async () => {
    const { response, error } = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: 'a@b@example.com' } },
    });

    expect(response.status).toBe(422);
    expect(error?.errors?.[0]?.parameter).toBe('identifier');
  });

  it('rejects a missing identifier with 400', async () => {
    const response = await fixture.server.fetch('/identities/public-keys', {
      headers: { authorization: `Bearer ${fixture.organization.token}` },
    });
    const problem = (await response.json()) as { errors: unknown[] };

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ parameter: 'identifier', detail: 'is required' }]);
  });
});

describe('POST /identities/public-keys/lookups', () => {
  it('returns one look-up per address in request order', async () => {
    const withProvision = fixture.server.newEmail();
    const withIdentity = fixture.server.newEmail();
    const mine = await boxWithProvision(withProvision);
    await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body: mine.body,
    });
    const person = await fixture.server.signIn(withIdentity);
    const keys = await newBoxKeys();
    await person.client.PUT('/identities/me/public-key', { body: { public_key: keys.publicKey } });

    const { data, response } = await fixture.organization.client.POST(
      '/identities/public-keys/lookups',
      {
        body: {
          identifiers: [withIdentity.toUpperCase(), 'unknown@example.com', ` ${withProvision} `],
        },
      },
    );

    expect(response.status).toBe(200);
    expect(data?.items.map((item) => item.identifier)).toEqual([
      withIdentity,
      'unknown@example.com',
      withProvision,
    ]);
    expect(data?.items[0]?.identity_public_key).toBe(keys.publicKey);
    expect(data?.items[0]?.provisions).toEqual([]);
    expect(data?.items[1]).toEqual({
      identifier: 'unknown@example.com',
      identity_public_key: null,
      provisions: [],
    });
    expect(data?.items[2]?.identity_public_key).toBeNull();
    expect(data?.items[2]?.provisions.map((item) => item.public_key)).toEqual([
      mine.provision.payload.public_key,
    ]);
  });

  it('matches the single look-up for the same address', async () => {
    const email = fixture.server.newEmail();
    const mine = await boxWithProvision(email);
    await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body: mine.body,
    });

    const single = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });
    const batch = await fixture.organization.client.POST('/identities/public-keys/lookups', {
      body: { identifiers: [email] },
    });

    expect(batch.data?.items).toEqual([single.data]);
  });

  it('rejects invalid addresses with 422 pointing at each', async () => {
    const { response, error } = await fixture.organization.client.POST(
      '/identities/public-keys/lookups',
      {
        body: { identifiers: ['a@b@example.com', 'ok@example.com', 'no-at-sign.example.com'] },
      },
    );

    expect(response.status).toBe(422);
    expect(error?.errors?.map((item) => item.pointer)).toEqual([
      '/identifiers/0',
      '/identifiers/2',
    ]);
  });

  it('rejects an empty list and more than 100 addresses with 400', async () => {
    const empty = await fixture.organization.client.POST('/identities/public-keys/lookups', {
      body: { identifiers: [] },
    });
    const tooMany = await fixture.organization.client.POST('/identities/public-keys/lookups', {
      body: { identifiers: Array.from({ length: 101 }, (_, index) => `p${index}@example.com`) },
    });

    expect(empty.response.status).toBe(400);
    expect(empty.error?.errors?.[0]?.pointer).toBe('/identifiers');
    expect(tooMany.response.status).toBe(400);
    expect(tooMany.error?.errors?.[0]?.pointer).toBe('/identifiers');
  });
});
