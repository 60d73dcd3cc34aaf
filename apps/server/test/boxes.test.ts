import type { BoxCreation, Problem } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import {
  boxInvitingKey,
  boxWithProvision,
  newBoxKeys,
  newProvision,
  sealInvitation,
  sealText,
} from './support/box-material.js';
import { type TestOrganization, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

function createBox(body: BoxCreation, by = fixture.organization, idempotencyKey?: string) {
  return by.client.POST('/organizations/{oid}/boxes', {
    params: {
      path: { oid: by.id },
      header: idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey },
    },
    body,
  });
}

describe('POST /organizations/{oid}/boxes', () => {
  it('creates a box with a provision and its invitation', async () => {
    const email = fixture.server.newEmail();
    const { body, provision } = await boxWithProvision(email);

    const { data, response } = await createBox({ ...body, data_subject: ' Subject@Example.com' });

    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/boxes/${data?.id}`);
    expect(data?.organization_id).toBe(fixture.organization.id);
    expect(data?.public_key).toBe(body.public_key);
    expect(data?.data_subject).toBe('subject@example.com');

    const lookup = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });
    expect(lookup.data?.provisions.map((item) => item.public_key)).toEqual([
      provision.payload.public_key,
    ]);
  });

  it('creates a box without crypto', async () => {
    const box = await newBoxKeys();
    const { data, response } = await createBox({ title: 'Plain', public_key: box.publicKey });

    expect(response.status).toBe(201);
    expect(data?.data_subject).toBeNull();
  });

  it('normalizes provision emails before storing them', async () => {
    const { body } = await boxWithProvision(' Norm.Person@EXAMPLE.com ');
    await createBox(body);

    const lookup = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: 'norm.person@example.com' } },
    });
    expect(lookup.data?.identifier).toBe('norm.person@example.com');
    expect(lookup.data?.provisions).toHaveLength(1);
  });

  it('rejects a second provision for an address with 409 naming the first', async () => {
    const email = fixture.server.newEmail();
    const first = await boxWithProvision(email);
    await createBox(first.body);

    const second = await boxWithProvision(email.toUpperCase());
    const { response, error } = await createBox(second.body);

    expect(response.status).toBe(409);
    expect(error?.type).toBe('urn:provisions:problem:provision-exists');
    expect(error?.existing_public_key).toBe(first.provision.payload.public_key);
    expect(error?.errors).toEqual([
      { pointer: `/crypto/provisions/${email.toUpperCase()}`, detail: expect.any(String) },
    ]);
  });

  it('lets a second box reuse the active provision', async () => {
    const email = fixture.server.newEmail();
    const first = await boxWithProvision(email);
    await createBox(first.body);

    const { body } = await boxInvitingKey(first.provision.payload.public_key);
    const { response } = await createBox(body);

    expect(response.status).toBe(201);
  });

  it('rejects a share hash that already exists with 409', async () => {
    const first = await boxWithProvision(fixture.server.newEmail());
    await createBox(first.body);

    const fresh = await newProvision();
    const payload = {
      ...fresh.payload,
      user_key_share_hash: first.provision.payload.user_key_share_hash,
    };
    const { body } = await boxWithProvision(fixture.server.newEmail(), { ...fresh, payload });
    const { response, error } = await createBox(body);

    expect(response.status).toBe(409);
    expect(error?.type).toBe('urn:provisions:problem:key-in-use');
    expect(error?.errors?.[0]?.pointer).toMatch(/\/user_key_share_hash$/);
  });

  it('rejects a provision public key that already exists with 409', async () => {
    const first = await boxWithProvision(fixture.server.newEmail());
    await createBox(first.body);

    const { body } = await boxWithProvision(fixture.server.newEmail(), first.provision);
    const fresh = await newProvision();
    const email = Object.keys(body.crypto?.provisions ?? {})[0] ?? '';
    const provisions = {
      [email]: { ...fresh.payload, public_key: first.provision.payload.public_key },
    };
    const { response, error } = await createBox({
      ...body,
      crypto: { ...body.crypto, provisions },
    });

    expect(response.status).toBe(409);
    expect(error?.errors).toEqual([
      { pointer: `/crypto/provisions/${email}/public_key`, detail: expect.any(String) },
    ]);
  });

  it('rejects the same key twice in one request with 409', async () => {
    const box = await newBoxKeys();
    const provision = await newProvision();
    const other = await newProvision();
    const [a, b] = [fixture.server.newEmail(), fixture.server.newEmail()];
    const body: BoxCreation = {
      title: 'Twice',
      public_key: box.publicKey,
      crypto: {
        provisions: {
          [a]: provision.payload,
          [b]: { ...other.payload, user_key_share_hash: provision.payload.user_key_share_hash },
        },
      },
    };

    const { response, error } = await createBox(body);

    expect(response.status).toBe(409);
    expect(error?.errors).toEqual([
      {
        pointer: `/crypto/provisions/${b}/user_key_share_hash`,
        detail: `is the same hash as /crypto/provisions/${a}/user_key_share_hash`,
      },
    ]);
  });

  it('rejects an invitation to an unknown key with 422 and its pointer', async () => {
    const stranger = await newBoxKeys();
    const { body } = await boxInvitingKey(stranger.publicKey);

    const { response, error } = await createBox(body);

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:unknown-invitation-key');
    expect(error?.errors).toEqual([
      { pointer: `/crypto/invitation_data/${stranger.publicKey}`, detail: expect.any(String) },
    ]);
  });

  it("rejects an invitation to another organization's provision with 422", async () => {
    const other = await fixture.server.organization('Other');
    const theirs = await boxWithProvision(fixture.server.newEmail());
    expect((await createBox(theirs.body, other)).response.status).toBe(201);

    const { body } = await boxInvitingKey(theirs.provision.payload.public_key);
    const { response, error } = await createBox(body);

    expect(response.status).toBe(422);
    expect(error?.errors?.[0]?.pointer).toBe(
      `/crypto/invitation_data/${theirs.provision.payload.public_key}`,
    );
  });

  it('invites a person by identity public key', async () => {
    const person = await fixture.server.signIn();
    const keys = await newBoxKeys();
    await person.client.PUT('/identities/me/public-key', { body: { public_key: keys.publicKey } });

    const { body } = await boxInvitingKey(keys.publicKey);
    const created = await createBox(body);
    const actions = await person.client.GET('/crypto/actions');

    expect(created.response.status).toBe(201);
    expect(actions.data?.items.map((action) => action.box_id)).toEqual([created.data?.id]);
    expect(actions.data?.items[0]?.encryption_public_key).toBe(keys.publicKey);
  });

  it('rejects an invalid provision email with 422 and an escaped pointer', async () => {
    const { body } = await boxWithProvision('not/an~address');

    const { response, error } = await createBox(body);

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe('/crypto/provisions/not~1an~0address');
  });

  it('rejects two keys for the same address after normalization with 422', async () => {
    const box = await newBoxKeys();
    const [first, second] = [await newProvision(), await newProvision()];
    const body: BoxCreation = {
      title: 'Same person',
      public_key: box.publicKey,
      crypto: {
        provisions: {
          'dup.person@example.com': first.payload,
          ' Dup.Person@Example.COM ': second.payload,
        },
      },
    };

    const { response, error } = await createBox(body);

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:duplicate-email');
    expect(error?.errors?.[0]?.pointer).toBe('/crypto/provisions/ Dup.Person@Example.COM ');
  });

  it('leaves no rows behind when a later provision conflicts', async () => {
    const existing = await boxWithProvision(fixture.server.newEmail());
    await createBox(existing.body);
    const counts = () =>
      Promise.all(
        (['boxes', 'provisions', 'crypto_actions'] as const).map((table) =>
          fixture.server.countRows(table),
        ),
      );
    const before = await counts();

    const box = await newBoxKeys();
    const valid = await newProvision();
    const body: BoxCreation = {
      title: 'Half valid',
      public_key: box.publicKey,
      crypto: {
        invitation_data: {
          [valid.payload.public_key]: await sealInvitation(box, valid.payload.public_key),
        },
        provisions: {
          [fixture.server.newEmail()]: valid.payload,
          [fixture.server.newEmail()]: {
            ...(await newProvision()).payload,
            public_key: existing.provision.payload.public_key,
          },
        },
      },
    };
    const { response } = await createBox(body);

    expect(response.status).toBe(409);
    expect(await counts()).toEqual(before);
    const retry = await createBox({
      ...body,
      crypto: { ...body.crypto, provisions: { [fixture.server.newEmail()]: valid.payload } },
    });
    expect(retry.response.status).toBe(201);
  });

  it("returns 404 for another organization's oid", async () => {
    const other = await fixture.server.organization('Someone else');
    const box = await newBoxKeys();

    const { response, error } = await fixture.organization.client.POST(
      '/organizations/{oid}/boxes',
      {
        params: { path: { oid: other.id } },
        body: { title: 'Not mine', public_key: box.publicKey },
      },
    );

    expect(response.status).toBe(404);
    expect(error?.type).toBe('urn:provisions:problem:not-found');
  });

  it('rejects a person token with 403', async () => {
    const person = await fixture.server.signIn();
    const box = await newBoxKeys();

    const { response } = await person.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body: { title: 'Person', public_key: box.publicKey },
    });

    expect(response.status).toBe(403);
  });

  it('returns the first box for a repeated Idempotency-Key and body', async () => {
    const { body } = await boxWithProvision(fixture.server.newEmail());
    const key = `retry-${Date.now()}`;

    const first = await createBox(body, fixture.organization, key);
    const again = await createBox(body, fixture.organization, key);

    expect(first.response.status).toBe(201);
    expect(again.response.status).toBe(201);
    expect(again.data).toEqual(first.data);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
  });

  it('rejects a reused Idempotency-Key with another body with 422', async () => {
    const key = `reuse-${Date.now()}`;
    const box = await newBoxKeys();
    await createBox({ title: 'First', public_key: box.publicKey }, fixture.organization, key);

    const { response, error } = await createBox(
      { title: 'Second', public_key: box.publicKey },
      fixture.organization,
      key,
    );

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:idempotency-key-reused');
    expect(error?.errors).toEqual([{ header: 'Idempotency-Key', detail: expect.any(String) }]);
  });

  it('keeps idempotency keys per organization', async () => {
    const other = await fixture.server.organization('Keys apart');
    const box = await newBoxKeys();
    const key = `shared-${Date.now()}`;

    const mine = await createBox(
      { title: 'Mine', public_key: box.publicKey },
      fixture.organization,
      key,
    );
    const theirs = await createBox({ title: 'Theirs', public_key: box.publicKey }, other, key);

    expect(theirs.response.status).toBe(201);
    expect(theirs.data?.id).not.toBe(mine.data?.id);
  });

  it('forgets an Idempotency-Key after 24 hours', async () => {
    const key = `expiring-${Date.now()}`;
    const box = await newBoxKeys();
    const first = await createBox(
      { title: 'Day one', public_key: box.publicKey },
      fixture.organization,
      key,
    );

    fixture.server.clock.advance(24 * 60 * 60);
    fixture.organization = await fixture.server.signInOrganization(fixture.organization);
    const later = await createBox(
      { title: 'Day two', public_key: box.publicKey },
      fixture.organization,
      key,
    );

    expect(later.response.status).toBe(201);
    expect(later.data?.id).not.toBe(first.data?.id);
  });

  it('rejects an invalid Idempotency-Key header with 400', async () => {
    const box = await newBoxKeys();
    const { response, error } = await createBox(
      { title: 'Bad key', public_key: box.publicKey },
      fixture.organization,
      'has spaces in it',
    );

    expect(response.status).toBe(400);
    expect(error?.errors?.[0]?.header).toBe('Idempotency-Key');
  });

  it('rejects a body over 1 MiB with 413', async () => {
    const response = await fixture.server.fetch(`/organizations/${fixture.organization.id}/boxes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fixture.organization.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ title: 'x'.repeat(1024 * 1024), public_key: 'a' }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(413);
    expect(problem.type).toBe('urn:provisions:problem:content-too-large');
  });
});

describe('GET /boxes/{id}', () => {
  it('shows a box to its organization, its invited person and its members only', async () => {
    const email = fixture.server.newEmail();
    const { body } = await boxWithProvision(email);
    const { data: box } = await createBox(body);
    const id = box?.id ?? '';
    const invited = await fixture.server.signIn(email);
    const stranger = await fixture.server.signIn();
    const other = await fixture.server.organization('Outsider');

    const read = (client: TestOrganization['client']) =>
      client.GET('/boxes/{id}', { params: { path: { id } } });

    expect((await read(fixture.organization.client)).data).toEqual(box);
    expect((await read(invited.client)).data).toEqual(box);
    expect((await read(stranger.client)).response.status).toBe(404);
    expect((await read(other.client)).response.status).toBe(404);
  });

  it('returns 404 for a box that does not exist', async () => {
    const { response } = await fixture.organization.client.GET('/boxes/{id}', {
      params: { path: { id: '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11' } },
    });

    expect(response.status).toBe(404);
  });

  it('rejects an id that is not a UUID with 400 naming the parameter', async () => {
    const { response, error } = await fixture.organization.client.GET('/boxes/{id}', {
      params: { path: { id: 'not-a-uuid' } },
    });

    expect(response.status).toBe(400);
    expect(error?.errors).toEqual([
      {
        parameter: 'id',
        detail: expect.stringContaining('a UUID of 8-4-4-4-12 hexadecimal digits'),
      },
    ]);
  });
});

describe('box events', () => {
  async function boxForInvitedPerson() {
    const email = fixture.server.newEmail();
    const material = await boxWithProvision(email);
    const { data } = await createBox(material.body);
    const person = await fixture.server.signIn(email);
    return { id: data?.id ?? '', person, box: material.box };
  }

  it('lets the organization post a message and the joined person read it', async () => {
    const { id, person, box } = await boxForInvitedPerson();
    const encrypted = await sealText(box, 'hello');

    const posted = await fixture.organization.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'msg.text', content: { encrypted, public_key: box.publicKey } },
    });
    const joined = await person.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'member.join' },
    });
    const events = await person.client.GET('/boxes/{id}/events', { params: { path: { id } } });

    expect(posted.response.status).toBe(201);
    expect(posted.data?.sender).toEqual({ type: 'organization', id: fixture.organization.id });
    expect(joined.response.status).toBe(201);
    expect(joined.data?.content).toBeNull();
    expect(joined.data?.sender).toEqual({ type: 'identity', id: person.identity.id });
    expect(events.data?.items.map((event) => event.type)).toEqual(['msg.text', 'member.join']);
    expect(events.data?.items[0]?.content).toEqual({ encrypted, public_key: box.publicKey });
    expect(events.data?.next_cursor).toBeNull();
  });

  it('treats a second join as the first', async () => {
    const { id, person } = await boxForInvitedPerson();
    const join = () =>
      person.client.POST('/boxes/{id}/events', {
        params: { path: { id } },
        body: { type: 'member.join' },
      });

    const first = await join();
    const second = await join();
    const events = await fixture.organization.client.GET('/boxes/{id}/events', {
      params: { path: { id } },
    });

    expect(second.response.status).toBe(201);
    expect(second.data?.id).toBe(first.data?.id);
    expect(events.data?.items).toHaveLength(1);
  });

  it('hides events from an invited person until they join', async () => {
    const { id, person } = await boxForInvitedPerson();

    const { response } = await person.client.GET('/boxes/{id}/events', {
      params: { path: { id } },
    });

    expect(response.status).toBe(404);
  });

  it('rejects a message from an invited person before joining with 403', async () => {
    const { id, person, box } = await boxForInvitedPerson();

    const { response, error } = await person.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(box, 'early'), public_key: box.publicKey },
      },
    });

    expect(response.status).toBe(403);
    expect(error?.type).toBe('urn:provisions:problem:membership-required');
  });

  it('rejects a message sealed to another key with 422', async () => {
    const { id } = await boxForInvitedPerson();
    const other = await newBoxKeys();

    const { response, error } = await fixture.organization.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(other, 'x'), public_key: other.publicKey },
      },
    });

    expect(response.status).toBe(422);
    expect(error?.errors?.[0]?.pointer).toBe('/content/public_key');
  });

  it('rejects a join by an organization with 403', async () => {
    const { id } = await boxForInvitedPerson();

    const { response, error } = await fixture.organization.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'member.join' },
    });

    expect(response.status).toBe(403);
    expect(error?.type).toBe('urn:provisions:problem:person-required');
  });

  it('returns 404 to a person without an invitation', async () => {
    const { id } = await boxForInvitedPerson();
    const stranger = await fixture.server.signIn();

    const { response } = await stranger.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'member.join' },
    });

    expect(response.status).toBe(404);
  });

  it('rejects an unknown event type with 400 and a pointer', async () => {
    const { id } = await boxForInvitedPerson();

    const response = await fixture.server.fetch(`/boxes/${id}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fixture.organization.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'msg.html' }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors?.[0]?.pointer).toBe('/type');
  });

  it('pages events with a cursor', async () => {
    const { id, box } = await boxForInvitedPerson();
    for (let index = 0; index < 5; index += 1) {
      await fixture.organization.client.POST('/boxes/{id}/events', {
        params: { path: { id } },
        body: {
          type: 'msg.text',
          content: { encrypted: await sealText(box, `m${index}`), public_key: box.publicKey },
        },
      });
    }

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { data } = await fixture.organization.client.GET('/boxes/{id}/events', {
        params: { path: { id }, query: { limit: 2, ...(cursor === undefined ? {} : { cursor }) } },
      });
      seen.push(...(data?.items.map((event) => event.id) ?? []));
      cursor = data?.next_cursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);

    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });
});
