import {
  decodeBase64Url,
  encodeBase64Url,
  getPublicKey,
  hashShare,
  open,
  recoverSecretKey,
} from '@provisions/crypto';
import { describe, expect, it } from 'vitest';
import {
  boxInvitingKey,
  boxWithProvision,
  newBoxKeys,
  sealText,
  type TestProvision,
} from './support/box-material.js';
import { type TestOrganization, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

async function createProvisionedBox(email: string, by = fixture.organization) {
  const material = await boxWithProvision(email);
  const { data } = await by.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: by.id } },
    body: material.body,
  });
  if (data === undefined) {
    throw new Error('box creation failed');
  }
  return { ...material, boxId: data.id };
}

async function shareHashOf(provision: TestProvision): Promise<string> {
  return encodeBase64Url(await hashShare(provision.userKeyShare));
}

function redeem(client: TestOrganization['client'], hash: string) {
  return client.GET('/crypto/provisions', { params: { query: { user_key_share_hash: hash } } });
}

function revoke(by: TestOrganization, publicKey: string, oid = by.id) {
  return by.client.DELETE('/organizations/{oid}/provisions/{public_key}', {
    params: { path: { oid, public_key: publicKey } },
  });
}

describe('recipient flow', () => {
  it('rebuilds the provision key from both shares and opens the box', async () => {
    const email = fixture.server.newEmail();
    const { provision, box, boxId } = await createProvisionedBox(email);
    await fixture.organization.client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(box, 'welcome'), public_key: box.publicKey },
      },
    });
    const person = await fixture.server.signIn(email);

    const redeemed = await redeem(person.client, await shareHashOf(provision));
    const serverShare = decodeBase64Url(redeemed.data?.misakey_key_share ?? '');
    const provisionPublicKey = decodeBase64Url(redeemed.data?.public_key ?? '');
    const secretKey = await recoverSecretKey(
      [provision.userKeyShare, serverShare],
      provisionPublicKey,
    );

    const actions = await person.client.GET('/crypto/actions', {
      params: { query: { encryption_public_key: redeemed.data?.public_key } },
    });
    const action = actions.data?.items[0];
    const opened = await open(decodeBase64Url(action?.encrypted ?? ''), secretKey);
    const { box_secret_key } = JSON.parse(new TextDecoder().decode(opened)) as {
      box_secret_key: string;
    };
    const boxRead = await person.client.GET('/boxes/{id}', { params: { path: { id: boxId } } });

    expect(redeemed.response.headers.get('cache-control')).toBe('no-store');
    expect(action?.box_id).toBe(boxId);
    expect(encodeBase64Url(await getPublicKey(decodeBase64Url(box_secret_key)))).toBe(
      boxRead.data?.public_key,
    );

    await person.client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: { type: 'member.join' },
    });
    const events = await person.client.GET('/boxes/{id}/events', {
      params: { path: { id: boxId } },
    });
    const message = events.data?.items.find((event) => event.type === 'msg.text');
    const text = await open(
      decodeBase64Url(message?.content?.encrypted ?? ''),
      decodeBase64Url(box_secret_key),
    );
    expect(new TextDecoder().decode(text)).toBe('welcome');
  });
});

describe('GET /crypto/provisions', () => {
  it('redeems for the same person whatever the case of the sign-in address', async () => {
    const { provision } = await createProvisionedBox(' Case.Person@Example.COM ');
    const person = await fixture.server.signIn('case.person@example.com');

    const { data, response } = await redeem(person.client, await shareHashOf(provision));

    expect(response.status).toBe(200);
    expect(data?.public_key).toBe(provision.payload.public_key);
    expect(data?.misakey_key_share).toBe(provision.payload.misakey_key_share);
  });

  it('returns 404 to another person holding the right hash', async () => {
    const { provision } = await createProvisionedBox(fixture.server.newEmail());
    const intruder = await fixture.server.signIn();

    const { response, error } = await redeem(intruder.client, await shareHashOf(provision));

    expect(response.status).toBe(404);
    expect(error?.detail).not.toContain(provision.payload.misakey_key_share);
  });

  it('returns 404 for an unknown hash', async () => {
    const person = await fixture.server.signIn();
    const { response } = await redeem(person.client, `${'A'.repeat(85)}A`);

    expect(response.status).toBe(404);
  });

  it('rejects an organization token with 403', async () => {
    const { provision } = await createProvisionedBox(fixture.server.newEmail());
    const { response } = await redeem(fixture.organization.client, await shareHashOf(provision));

    expect(response.status).toBe(403);
  });

  it('rejects a malformed hash with 400 naming the parameter', async () => {
    const person = await fixture.server.signIn();
    const { response, error } = await redeem(person.client, 'too-short');

    expect(response.status).toBe(400);
    expect(error?.errors?.[0]?.parameter).toBe('user_key_share_hash');
    expect(error?.errors?.[0]?.detail).toContain('86 characters');
  });
});

describe('DELETE /organizations/{oid}/provisions/{public_key}', () => {
  it('stops redemption, withdraws invitations and allows a new provision', async () => {
    const email = fixture.server.newEmail();
    const { provision, boxId } = await createProvisionedBox(email);
    const person = await fixture.server.signIn(email);
    const hash = await shareHashOf(provision);
    expect((await redeem(person.client, hash)).response.status).toBe(200);

    const revoked = await revoke(fixture.organization, provision.payload.public_key);

    expect(revoked.response.status).toBe(204);
    expect((await redeem(person.client, hash)).response.status).toBe(404);
    expect((await person.client.GET('/crypto/actions')).data?.items).toEqual([]);
    expect(
      (await person.client.GET('/boxes/{id}', { params: { path: { id: boxId } } })).response.status,
    ).toBe(404);

    const replacement = await createProvisionedBox(email);
    const lookup = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });
    expect(lookup.data?.provisions.map((item) => item.public_key)).toEqual([
      replacement.provision.payload.public_key,
    ]);
    expect(
      (await redeem(person.client, await shareHashOf(replacement.provision))).response.status,
    ).toBe(200);
  });

  it('keeps boxes the person already joined', async () => {
    const email = fixture.server.newEmail();
    const { provision, boxId } = await createProvisionedBox(email);
    const person = await fixture.server.signIn(email);
    await person.client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: { type: 'member.join' },
    });

    await revoke(fixture.organization, provision.payload.public_key);

    const { response } = await person.client.GET('/boxes/{id}/events', {
      params: { path: { id: boxId } },
    });
    expect(response.status).toBe(200);
  });

  it('returns 204 again for a provision already revoked', async () => {
    const { provision } = await createProvisionedBox(fixture.server.newEmail());

    await revoke(fixture.organization, provision.payload.public_key);
    const again = await revoke(fixture.organization, provision.payload.public_key);

    expect(again.response.status).toBe(204);
  });

  it("returns 404 for another organization's provision", async () => {
    const { provision } = await createProvisionedBox(fixture.server.newEmail());
    const other = await fixture.server.organization('Other');

    const viaOwnOid = await revoke(other, provision.payload.public_key);
    const viaTheirOid = await revoke(other, provision.payload.public_key, fixture.organization.id);

    expect(viaOwnOid.response.status).toBe(404);
    expect(viaTheirOid.response.status).toBe(404);
    expect(viaOwnOid.error?.title).toBe(viaTheirOid.error?.title);
  });

  it('rejects an existing-provision invitation after revocation with 422', async () => {
    const { provision } = await createProvisionedBox(fixture.server.newEmail());
    await revoke(fixture.organization, provision.payload.public_key);

    const { body } = await boxInvitingKey(provision.payload.public_key);
    const { response } = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body,
    });

    expect(response.status).toBe(422);
  });
});

describe('GET /crypto/actions', () => {
  it('lists actions oldest first across pages', async () => {
    const email = fixture.server.newEmail();
    const first = await createProvisionedBox(email);
    const boxIds = [first.boxId];
    for (let index = 0; index < 4; index += 1) {
      const { body } = await boxInvitingKey(first.provision.payload.public_key);
      const { data } = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: fixture.organization.id } },
        body,
      });
      boxIds.push(data?.id ?? '');
    }
    const person = await fixture.server.signIn(email);

    const listed: string[] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await person.client.GET('/crypto/actions', {
        params: { query: { limit: 2, ...(cursor === undefined ? {} : { cursor }) } },
      });
      listed.push(...(data?.items.map((action) => action.box_id) ?? []));
      cursors.push(data?.next_cursor ?? null);
      cursor = data?.next_cursor ?? undefined;
    } while (cursor !== undefined);

    expect(listed).toEqual(boxIds);
    expect(cursors).toHaveLength(3);
    expect(cursors[0]).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursors[2]).toBeNull();
  });

  it('lists actions for the identity key and for provisions of the email', async () => {
    const email = fixture.server.newEmail();
    const { boxId: viaProvision } = await createProvisionedBox(email);
    const person = await fixture.server.signIn(email);
    const identityKey = (await newBoxKeys()).publicKey;
    await person.client.PUT('/identities/me/public-key', { body: { public_key: identityKey } });
    const { body } = await boxInvitingKey(identityKey);
    const { data: direct } = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body,
    });

    const all = await person.client.GET('/crypto/actions');
    const filtered = await person.client.GET('/crypto/actions', {
      params: { query: { encryption_public_key: identityKey } },
    });

    expect(all.data?.items.map((action) => action.box_id)).toEqual([viaProvision, direct?.id]);
    expect(filtered.data?.items.map((action) => action.box_id)).toEqual([direct?.id]);
  });

  it("never lists another person's actions", async () => {
    await createProvisionedBox(fixture.server.newEmail());
    const stranger = await fixture.server.signIn();

    const { data } = await stranger.client.GET('/crypto/actions');

    expect(data?.items).toEqual([]);
    expect(data?.next_cursor).toBeNull();
  });

  it('rejects a forged cursor with 400 naming the parameter', async () => {
    const person = await fixture.server.signIn();
    const { response, error } = await person.client.GET('/crypto/actions', {
      params: { query: { cursor: 'bm90LWEtY3Vyc29y' } },
    });

    expect(response.status).toBe(400);
    expect(error?.errors).toEqual([{ parameter: 'cursor', detail: expect.any(String) }]);
  });

  it('accepts a limit of 1000 and rejects 1001 with 400', async () => {
    const person = await fixture.server.signIn();
    const largest = await person.client.GET('/crypto/actions', {
      params: { query: { limit: 1000 } },
    });
    const { response, error } = await person.client.GET('/crypto/actions', {
      params: { query: { limit: 1001 } },
    });

    expect(largest.response.status).toBe(200);
    expect(response.status).toBe(400);
    expect(error?.errors?.[0]?.parameter).toBe('limit');
  });
});

describe('DELETE /crypto/actions/{id}', () => {
  it('removes an action from the list', async () => {
    const email = fixture.server.newEmail();
    await createProvisionedBox(email);
    await createProvisionedBox(fixture.server.newEmail());
    const person = await fixture.server.signIn(email);
    const [action] = (await person.client.GET('/crypto/actions')).data?.items ?? [];

    const deleted = await person.client.DELETE('/crypto/actions/{id}', {
      params: { path: { id: action?.id ?? '' } },
    });
    const again = await person.client.DELETE('/crypto/actions/{id}', {
      params: { path: { id: action?.id ?? '' } },
    });

    expect(deleted.response.status).toBe(204);
    expect(again.response.status).toBe(204);
    expect((await person.client.GET('/crypto/actions')).data?.items).toEqual([]);
  });

  it("returns 404 for another person's action", async () => {
    const email = fixture.server.newEmail();
    await createProvisionedBox(email);
    const owner = await fixture.server.signIn(email);
    const stranger = await fixture.server.signIn();
    const [action] = (await owner.client.GET('/crypto/actions')).data?.items ?? [];

    const { response } = await stranger.client.DELETE('/crypto/actions/{id}', {
      params: { path: { id: action?.id ?? '' } },
    });

    expect(response.status).toBe(404);
    expect((await owner.client.GET('/crypto/actions')).data?.items).toHaveLength(1);
  });
});
