import { createPublicKey, diffieHellman, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { BoxCreation, Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newBoxKeys,
  newProvision,
  sealInvitation,
  sealText,
  type TestBoxKeys,
} from './support/box-material.js';
import { type TestOrganization, type TestPerson, TestServer } from './support/test-server.js';

/**
 * The X25519 u-coordinates of small order that libsodium rejects (`has_small_order` in
 * `crypto_scalarmult/curve25519/ref10/x25519_ref10.c`), little-endian with bit 255 clear:
 * 0, 1, the two points of order 8, p - 1, p and p + 1, where p = 2^255 - 19.
 */
const LOW_ORDER_HEX = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** Base64url keys of each low-order point, with bit 255 clear and set: 14 keys. */
const LOW_ORDER_KEYS = LOW_ORDER_HEX.flatMap((hex) => {
  const clear = Buffer.from(hex, 'hex');
  const set = Buffer.from(clear);
  set[31] = (set[31] as number) | 0x80;
  return [clear.toString('base64url'), set.toString('base64url')];
});

/** p + 2, a non-canonical encoding of u = 2, which is not of small order. */
const NON_CANONICAL_KEY = Buffer.from(
  'efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'hex',
).toString('base64url');

const LOW_ORDER_DETAIL = 'is a low-order X25519 point, so every shared secret with it is all zeros';

/** Computes an X25519 shared secret with OpenSSL (node:crypto) and a fresh secret key. */
function opensslSharedSecret(publicKey: string): Buffer {
  const { privateKey } = generateKeyPairSync('x25519');
  const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: publicKey }, format: 'jwk' });
  return diffieHellman({ privateKey, publicKey: peer });
}

let server: TestServer;
let organization: TestOrganization;
let person: TestPerson;
let box: { id: string; keys: TestBoxKeys };

beforeAll(async () => {
  server = await TestServer.start();
  organization = await server.organization();
  person = await server.signIn();

  const keys = await newBoxKeys();
  const created = await organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: organization.id } },
    body: { title: 'Existing box', public_key: keys.publicKey },
  });
  if (created.data === undefined) {
    throw new Error(`box creation failed with ${created.response.status}`);
  }
  box = { id: created.data.id, keys };
});

afterAll(async () => {
  await server.stop();
});

/** One request field that takes an X25519 public key. */
interface KeyField {
  name: string;
  /** Sends a request with `publicKey` in the field and returns the status and problem. */
  send(publicKey: string): Promise<{ status: number; problem: Problem | undefined }>;
  /** JSON Pointer of the field in that request. */
  pointer(publicKey: string): string;
}

async function createBox(body: BoxCreation) {
  const { error, response } = await organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: organization.id } },
    body,
  });
  return { status: response.status, problem: error as Problem | undefined };
}

const FIELDS: KeyField[] = [
  {
    name: 'identity public_key',
    send: async (publicKey) => {
      const { error, response } = await person.client.PUT('/identities/me/public-key', {
        body: { public_key: publicKey },
      });
      return { status: response.status, problem: error as Problem | undefined };
    },
    pointer: () => '/public_key',
  },
  {
    name: 'box public_key',
    send: async (publicKey) => createBox({ title: 'Low-order box', public_key: publicKey }),
    pointer: () => '/public_key',
  },
  {
    name: 'invitation_data key',
    send: async (publicKey) => {
      const keys = await newBoxKeys();
      const sealed = await sealInvitation(keys, (await newBoxKeys()).publicKey);
      return createBox({
        title: 'Low-order invitation',
        public_key: keys.publicKey,
        crypto: { invitation_data: { [publicKey]: sealed } },
      });
    },
    pointer: (publicKey) => `/crypto/invitation_data/${publicKey}`,
  },
  {
    name: 'provision public_key',
    send: async (publicKey) => {
      const { payload } = await newProvision();
      return createBox({
        title: 'Low-order provision',
        public_key: (await newBoxKeys()).publicKey,
        crypto: { provisions: { 'low@example.com': { ...payload, public_key: publicKey } } },
      });
    },
    pointer: () => '/crypto/provisions/low@example.com/public_key',
  },
  {
    name: 'message content public_key',
    send: async (publicKey) => {
      const { error, response } = await organization.client.POST('/boxes/{id}/events', {
        params: { path: { id: box.id } },
        body: {
          type: 'msg.text',
          content: { encrypted: await sealText(box.keys, 'hello'), public_key: publicKey },
        },
      });
      return { status: response.status, problem: error as Problem | undefined };
    },
    pointer: () => '/content/public_key',
  },
  {
    name: 'joined box public_key',
    send: async (publicKey) => {
      const { error, response } = await person.client.POST('/boxes/joins', {
        body: { boxes: [{ id: randomUUID(), public_key: publicKey }] },
      });
      return { status: response.status, problem: error as Problem | undefined };
    },
    pointer: () => '/boxes/0/public_key',
  },
];

describe('low-order points', () => {
  it('are 14 distinct keys', () => {
    expect(new Set(LOW_ORDER_KEYS).size).toBe(14);
  });

  it.each(LOW_ORDER_KEYS)('%s gives OpenSSL no shared secret', (publicKey) => {
    expect(() => opensslSharedSecret(publicKey)).toThrow(/failed during derivation/);
  });

  it('p + 2 gives OpenSSL a shared secret', () => {
    expect(opensslSharedSecret(NON_CANONICAL_KEY)).toHaveLength(32);
  });
});

describe.each(FIELDS)('$name', (field) => {
  it.each(LOW_ORDER_KEYS)('rejects %s with 422', async (publicKey) => {
    const { status, problem } = await field.send(publicKey);

    expect(status).toBe(422);
    expect(problem?.type).toBe('urn:provisions:problem:invalid-public-key');
    expect(problem?.errors).toEqual([
      { pointer: field.pointer(publicKey), detail: LOW_ORDER_DETAIL },
    ]);
  });
});

describe('public keys that are not of low order', () => {
  it('accepts a non-canonical key', async () => {
    const { status } = await createBox({ title: 'Non-canonical', public_key: NON_CANONICAL_KEY });

    expect(status).toBe(201);
  });

  it('stores nothing for rejected keys', async () => {
    const identity = await person.client.GET('/identities/me');

    expect(identity.data?.public_key).toBeNull();
    expect(await server.countRows('boxes')).toBe(2);
    expect(await server.countRows('provisions')).toBe(0);
    expect(await server.countRows('box_events')).toBe(0);
  });

  it('looks up a low-order key without checking it', async () => {
    const [zero] = LOW_ORDER_KEYS as [string];
    const revoked = await organization.client.DELETE(
      '/organizations/{oid}/provisions/{public_key}',
      {
        params: { path: { oid: organization.id, public_key: zero } },
      },
    );
    const listed = await person.client.GET('/crypto/actions', {
      params: { query: { encryption_public_key: zero } },
    });

    expect(revoked.response.status).toBe(404);
    expect(listed.response.status).toBe(200);
    expect(listed.data?.items).toEqual([]);
  });
});
