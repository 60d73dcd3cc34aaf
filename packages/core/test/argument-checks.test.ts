import { ApiArgumentError, createApiClient } from '@provisions/api';
import { CryptoError, encodeBase64Url, generateKeyPair } from '@provisions/crypto';
import { afterEach, describe, expect, it } from 'vitest';

import {
  connectOrganization,
  formatInvitationLink,
  InvitationLinkError,
  listCryptoActions,
  MemoryKeystore,
  ProvisionsError,
  readBoxesWithIdentityKey,
  readInvitedBoxes,
  redeemInvitation,
  registerIdentityKey,
  requestEmailCode,
  revokeProvision,
  sendBoxes,
  signIn,
} from '../src/index.js';
import { acquireLockFile } from '../src/keystore.js';

const ORGANIZATION_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const PUBLIC_KEY = 'eu87vEFWxCZcJaQSqiLMGMNvVlsp9uMO97SZcyHctRg';
const LINK = `https://app.example.com/join#provision:${'A'.repeat(44)}`;

// Every check runs before any request: the client records what it would send.
const requests: Request[] = [];
const client = createApiClient({
  baseUrl: 'http://127.0.0.1:8080',
  fetch: async (request) => {
    requests.push(request);
    return new Response('{}', { headers: { 'Content-Type': 'application/json' } });
  },
});
const organization = { client, organizationId: ORGANIZATION_ID };
const sendOptions = {
  organization,
  keystore: new MemoryKeystore(),
  appUrl: 'https://app.example.com',
  recipient: 'ada@example.com',
  boxes: [{ title: 'Contract', messages: ['Signed.'] }],
};
const CLIENT_EXPECTED = 'expected a client from createApiClient() of @provisions/api';
const KEYSTORE_EXPECTED =
  'expected a ProvisionKeystore, an object with get(email) and put(email, entry) methods such as MemoryKeystore or FileKeystore';

/** Returns `value` typed as anything, to pass arguments that the types forbid, as JavaScript can. */
function untyped<T>(value: unknown): T {
  return value as T;
}

afterEach(() => {
  requests.length = 0;
});

describe('argument checks of core functions', () => {
  it.each([
    [
      'sendBoxes without options',
      () => sendBoxes(untyped(undefined)),
      'options: expected an object with organization, keystore, appUrl, recipient and boxes, received undefined',
    ],
    [
      'sendBoxes with a null organization',
      () => sendBoxes({ ...sendOptions, organization: untyped(null) }),
      'organization: expected the connection that connectOrganization() returns, received null',
    ],
    [
      'sendBoxes with an organization without client',
      () =>
        sendBoxes({ ...sendOptions, organization: untyped({ organizationId: ORGANIZATION_ID }) }),
      `organization.client: ${CLIENT_EXPECTED}, received undefined`,
    ],
    [
      'sendBoxes with an organization without id',
      () => sendBoxes({ ...sendOptions, organization: untyped({ client }) }),
      'organization.organizationId: expected a non-empty string, received undefined',
    ],
    [
      'sendBoxes without keystore',
      () => sendBoxes({ ...sendOptions, keystore: untyped(undefined) }),
      `keystore: ${KEYSTORE_EXPECTED}, received undefined`,
    ],
    [
      'sendBoxes with an empty keystore object',
      () => sendBoxes({ ...sendOptions, keystore: untyped({}) }),
      `keystore: ${KEYSTORE_EXPECTED}, received object`,
    ],
    [
      'sendBoxes with a number as recipient',
      () => sendBoxes({ ...sendOptions, recipient: untyped(5) }),
      'recipient: expected an email address as a string, received number',
    ],
    [
      'revokeProvision without options',
      () => revokeProvision(untyped(undefined)),
      'options: expected an object with organization and publicKey, received undefined',
    ],
    [
      'revokeProvision with a null organization',
      () => revokeProvision({ organization: untyped(null), publicKey: PUBLIC_KEY }),
      'organization: expected the connection that connectOrganization() returns, received null',
    ],
    [
      'connectOrganization without options',
      () => connectOrganization(untyped(undefined)),
      'options: expected an object with baseUrl, clientId and clientSecret, received undefined',
    ],
    [
      'requestEmailCode with a null client',
      () => requestEmailCode(untyped(null), 'ada@example.com'),
      `client: ${CLIENT_EXPECTED}, received null`,
    ],
    [
      'requestEmailCode with a number as email',
      () => requestEmailCode(client, untyped(5)),
      'email: expected an email address as a string, received number',
    ],
    [
      'signIn with a missing email',
      () => signIn(client, untyped(undefined), '123456'),
      'email: expected an email address as a string, received undefined',
    ],
    [
      'redeemInvitation without options',
      () => redeemInvitation(untyped(undefined)),
      'options: expected an object with client and link, received undefined',
    ],
    [
      'redeemInvitation with a string as client',
      () => redeemInvitation({ client: untyped('http://127.0.0.1:8080'), link: LINK }),
      `client: ${CLIENT_EXPECTED}, received string`,
    ],
    [
      'readBoxesWithIdentityKey without options',
      () => readBoxesWithIdentityKey(untyped(null)),
      'options: expected an object with client and secretKey, received null',
    ],
    [
      'registerIdentityKey without client',
      () => registerIdentityKey(untyped({ secretKey: new Uint8Array(32) })),
      `client: ${CLIENT_EXPECTED}, received undefined`,
    ],
    [
      'listCryptoActions without client',
      () => listCryptoActions(untyped(undefined), PUBLIC_KEY),
      `client: ${CLIENT_EXPECTED}, received undefined`,
    ],
    [
      'readInvitedBoxes with null actions',
      () => readInvitedBoxes(client, untyped(null), new Uint8Array(32)),
      'actions: expected an array of crypto actions from listCryptoActions(), received null',
    ],
    [
      'readInvitedBoxes with a null action',
      () => readInvitedBoxes(client, untyped([null]), new Uint8Array(32)),
      'actions[0]: expected a crypto action object, received null',
    ],
    [
      'readInvitedBoxes with a number as box id',
      () =>
        readInvitedBoxes(
          client,
          untyped([{ id: 'a', box_id: 5, encrypted: 'x' }]),
          new Uint8Array(32),
        ),
      'actions[0].box_id: expected a string, received number',
    ],
    [
      'acquireLockFile with an empty path',
      () => acquireLockFile('', 'keystore'),
      'path: expected a non-empty string, received an empty string',
    ],
  ])('rejects %s', async (_case, call, message) => {
    const attempt = call();

    await expect(attempt).rejects.toBeInstanceOf(ProvisionsError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(attempt).rejects.toThrow(message);
    expect(requests).toHaveLength(0);
  });

  it('rejects a share that is not bytes', () => {
    const format = () => formatInvitationLink('https://app.example.com', untyped('share'));

    expect(format).toThrow(ProvisionsError);
    expect(format).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(format).toThrow('userKeyShare: expected a Uint8Array of 33 bytes, received string');
  });

  it.each([
    [
      'a base URL that is not a URL',
      { baseUrl: 'not a url' },
      /^baseUrl must be an http or https URL/,
    ],
    ['an ftp base URL', { baseUrl: 'ftp://127.0.0.1' }, /not ftp:$/],
    [
      'a number as client id',
      { clientId: 5 },
      'clientId must be a non-empty string, received number',
    ],
  ])('passes on the api error for %s', async (_case, overrides, message) => {
    const attempt = connectOrganization({
      baseUrl: 'http://127.0.0.1:8080',
      clientId: ORGANIZATION_ID,
      clientSecret: 'secret',
      fetch: async () => new Response(null, { status: 500 }),
      ...untyped<object>(overrides),
    });

    await expect(attempt).rejects.toBeInstanceOf(ApiArgumentError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(attempt).rejects.toThrow(message);
  });

  it('gives a keystore email of the wrong type a code', async () => {
    const attempt = new MemoryKeystore().get(untyped(123));

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(attempt).rejects.toThrow('email address must be a string, received number');
  });

  it('checks the app URL before any request', async () => {
    const attempt = sendBoxes({ ...sendOptions, appUrl: 'app.example.com' });

    await expect(attempt).rejects.toBeInstanceOf(InvitationLinkError);
    await expect(attempt).rejects.toMatchObject({ reason: 'not_a_url' });
    expect(requests).toHaveLength(0);
  });
});

describe('listCryptoActions key check', () => {
  it.each([
    ['a missing key', undefined, 'ERR_INVALID_TYPE', 'received undefined'],
    [
      'a key as bytes',
      new Uint8Array(32),
      'ERR_INVALID_TYPE',
      'received an instance of Uint8Array',
    ],
    ['a short key', 'abc', 'ERR_INVALID_LENGTH', 'expected 43 base64url characters'],
  ])('rejects %s before any request', async (_case, key, code, message) => {
    const attempt = listCryptoActions(client, untyped(key));

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({ code });
    await expect(attempt).rejects.toThrow(`encryptionPublicKey: `);
    await expect(attempt).rejects.toThrow(message);
    expect(requests).toHaveLength(0);
  });

  it('lists the actions of a valid key', async () => {
    const { publicKey } = await generateKeyPair();
    const listing = createApiClient({
      baseUrl: 'http://127.0.0.1:8080',
      fetch: async (request) => {
        requests.push(request);
        return Response.json({ items: [], next_cursor: null });
      },
    });

    const actions = await listCryptoActions(listing, encodeBase64Url(publicKey));

    expect(actions).toEqual([]);
    expect(new URL(requests[0]?.url ?? '').searchParams.get('encryption_public_key')).toBe(
      encodeBase64Url(publicKey),
    );
  });
});
