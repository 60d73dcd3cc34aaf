import type { Problem } from '@provisions/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxWithProvision, sealText, type TestBoxKeys } from './support/box-material.js';
import { type TestPerson, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** A UUID written in lower case only, as the server writes every id. */
const LOWERCASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let person: TestPerson;
let boxId: string;
let boxKeys: TestBoxKeys;
let provisionPublicKey: string;

beforeAll(async () => {
  person = await fixture.server.signIn();
  const { body, box, provision } = await boxWithProvision(person.identity.email);
  const created = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: fixture.organization.id } },
    body,
  });
  if (created.data === undefined) {
    throw new Error(`box creation failed with ${created.response.status}`);
  }
  boxId = created.data.id;
  boxKeys = box;
  provisionPublicKey = provision.payload.public_key;
});

describe('uppercase UUIDs', () => {
  it('GET /boxes/{id} returns the box with lowercase ids', async () => {
    const { data, response } = await person.client.GET('/boxes/{id}', {
      params: { path: { id: boxId.toUpperCase() } },
    });

    expect(response.status).toBe(200);
    expect(data?.id).toBe(boxId);
    expect(data?.organization_id).toBe(fixture.organization.id);
  });

  it('POST /organizations/{oid}/boxes creates the box', async () => {
    const { body } = await boxWithProvision(fixture.server.newEmail());
    const { data, response } = await fixture.organization.client.POST(
      '/organizations/{oid}/boxes',
      { params: { path: { oid: fixture.organization.id.toUpperCase() } }, body },
    );

    expect(response.status).toBe(201);
    expect(data?.id).toMatch(LOWERCASE_UUID);
    expect(response.headers.get('location')).toBe(`/boxes/${data?.id}`);
    expect(data?.organization_id).toBe(fixture.organization.id);
  });

  it('POST and GET /boxes/{id}/events use the box', async () => {
    const posted = await fixture.organization.client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId.toUpperCase() } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(boxKeys, 'hello'), public_key: boxKeys.publicKey },
      },
    });
    const listed = await fixture.organization.client.GET('/boxes/{id}/events', {
      params: { path: { id: boxId.toUpperCase() }, query: { limit: 100 } },
    });

    expect(posted.response.status).toBe(201);
    expect(posted.data?.box_id).toBe(boxId);
    expect(posted.data?.sender.id).toBe(fixture.organization.id);
    expect(listed.response.status).toBe(200);
    expect(listed.data?.items.map((event) => event.box_id)).toContain(boxId);
    expect(listed.data?.items.map((event) => event.id)).toContain(posted.data?.id);
  });

  it('POST /boxes/joins joins the box', async () => {
    const { data, response } = await person.client.POST('/boxes/joins', {
      body: { boxes: [{ id: boxId.toUpperCase(), public_key: boxKeys.publicKey }] },
    });

    expect(response.status).toBe(200);
    expect(data?.items.map((joined) => joined.box.id)).toEqual([boxId]);
  });

  it('POST /boxes/joins counts ids in two cases as one box', async () => {
    const { error, response } = await person.client.POST('/boxes/joins', {
      body: {
        boxes: [
          { id: boxId, public_key: boxKeys.publicKey },
          { id: boxId.toUpperCase(), public_key: boxKeys.publicKey },
        ],
      },
    });

    expect(response.status).toBe(400);
    expect(error?.errors?.map((entry) => entry.pointer)).toEqual(['/boxes/1/id']);
  });

  it('DELETE /crypto/actions/{id} acknowledges the action', async () => {
    const before = await person.client.GET('/crypto/actions', {});
    const actionId = before.data?.items[0]?.id ?? '';
    const { response } = await person.client.DELETE('/crypto/actions/{id}', {
      params: { path: { id: actionId.toUpperCase() } },
    });
    const after = await person.client.GET('/crypto/actions', {});

    expect(actionId).toMatch(LOWERCASE_UUID);
    expect(response.status).toBe(204);
    expect(after.data?.items.map((action) => action.id)).not.toContain(actionId);
  });

  it('DELETE /organizations/{oid}/provisions/{public_key} revokes', async () => {
    const { response } = await fixture.organization.client.DELETE(
      '/organizations/{oid}/provisions/{public_key}',
      {
        params: {
          path: { oid: fixture.organization.id.toUpperCase(), public_key: provisionPublicKey },
        },
      },
    );

    expect(response.status).toBe(204);
  });

  it('POST /oauth/token takes an uppercase client_id', async () => {
    const response = await fixture.server.fetch('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: fixture.organization.id.toUpperCase(),
        client_secret: fixture.organization.client_secret,
      }),
    });

    expect(response.status).toBe(200);
  });
});

/** UUID spellings that RFC 9562 defines or that are common, but not the 8-4-4-4-12 form. */
const NON_CANONICAL_FORMS: [string, (id: string) => string][] = [
  ['a urn:uuid: URN', (id) => `urn:uuid:${id}`],
  ['braces', (id) => `{${id}}`],
  ['no hyphens', (id) => id.replaceAll('-', '')],
];

/** The error detail of a UUID in another form, as the Id schema's description words it. */
const EXPECTED_DETAIL = /^is invalid; expected .*8-4-4-4-12 hexadecimal digits/;

describe.each(NON_CANONICAL_FORMS)('a UUID as %s', (_form, rewrite) => {
  async function expectInvalid(
    response: Response,
    error: Problem | undefined,
    location: { parameter: string } | { pointer: string },
  ): Promise<void> {
    expect(response.status).toBe(400);
    expect(error?.type).toBe('urn:provisions:problem:invalid-request');
    expect(error?.errors).toHaveLength(1);
    expect(error?.errors?.[0]).toMatchObject(location);
    expect(error?.errors?.[0]?.detail).toMatch(EXPECTED_DETAIL);
  }

  it('is a 400 in the path of GET /boxes/{id}', async () => {
    const { error, response } = await person.client.GET('/boxes/{id}', {
      params: { path: { id: rewrite(boxId) } },
    });

    await expectInvalid(response, error, { parameter: 'id' });
  });

  it('is a 400 in the path of POST /organizations/{oid}/boxes', async () => {
    const { body } = await boxWithProvision(fixture.server.newEmail());
    const { error, response } = await fixture.organization.client.POST(
      '/organizations/{oid}/boxes',
      { params: { path: { oid: rewrite(fixture.organization.id) } }, body },
    );

    await expectInvalid(response, error, { parameter: 'oid' });
  });

  it('is a 400 in the body of POST /boxes/joins', async () => {
    const { error, response } = await person.client.POST('/boxes/joins', {
      body: { boxes: [{ id: rewrite(boxId), public_key: boxKeys.publicKey }] },
    });

    await expectInvalid(response, error, { pointer: '/boxes/0/id' });
  });

  it('is a 400 as the client_id of POST /oauth/token', async () => {
    const response = await fixture.server.fetch('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: rewrite(fixture.organization.id),
        client_secret: fixture.organization.client_secret,
      }),
    });
    const problem = (await response.json()) as Problem & { error?: string };

    await expectInvalid(response, problem, { pointer: '/client_id' });
    expect(problem.error).toBe('invalid_request');
  });
});
