import { type ApiClient, type PublicKeyLookup, unwrap } from '@provisions/api';
import { connectOrganization, sealInvitation } from '@provisions/core';
import { createProvision, encodeBase64Url, generateKeyPair } from '@provisions/crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { LOOKUP_BATCH_SIZE, PublicKeyLookups } from '../src/public-key-lookups.js';
import { type Fault, type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const BATCH_PATH = '/identities/public-keys/lookups';
const SINGLE_PATH = '/identities/public-keys';

let server: TestServer;
let proxy: FaultProxy;
let client: ApiClient;
let batchSupported = true;
const counts = new Map<string, number>();
const provisioned = 'provisioned@example.com';
let provisionPublicKey: string;

function choose(method: string, path: string): Fault {
  const kind = `${method} ${path}`;
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return path === BATCH_PATH && !batchSupported ? { status: 404 } : 'pass';
}

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, choose);
  const organization = await connectOrganization({
    baseUrl: proxy.url,
    clientId: server.organizationId,
    clientSecret: server.clientSecret,
  });
  client = organization.client;

  const provision = await createProvision();
  const box = await generateKeyPair();
  provisionPublicKey = provision.payload.public_key;
  unwrap(
    await client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: server.organizationId } },
      body: {
        title: 'Look-up fixture',
        public_key: encodeBase64Url(box.publicKey),
        crypto: {
          invitation_data: {
            [provisionPublicKey]: await sealInvitation(box.secretKey, provision.publicKey),
          },
          provisions: { [provisioned]: provision.payload },
        },
      },
    }),
  );
});

beforeEach(() => {
  counts.clear();
  batchSupported = true;
});

afterAll(async () => {
  await proxy.close();
  await server.close();
});

function emails(count: number): string[] {
  return [provisioned, ...Array.from({ length: count - 1 }, (_, index) => `u${index}@example.com`)];
}

async function lookUpAll(lookups: PublicKeyLookups, list: string[]): Promise<PublicKeyLookup[]> {
  return Promise.all(list.map((email) => lookups.lookUp(email)));
}

describe('PublicKeyLookups', () => {
  it('fetches 100 addresses per request', async () => {
    const list = emails(LOOKUP_BATCH_SIZE + 50);
    const results = await lookUpAll(new PublicKeyLookups(client, list), list);

    expect(counts.get(`POST ${BATCH_PATH}`)).toBe(2);
    expect(counts.get(`GET ${SINGLE_PATH}`)).toBeUndefined();
    expect(results.map((result) => result.identifier)).toEqual(list);
    expect(results[0]?.provisions.map((item) => item.public_key)).toEqual([provisionPublicKey]);
    expect(results[1]).toEqual({
      identifier: 'u0@example.com',
      identity_public_key: null,
      provisions: [],
    });
  });

  it('falls back to single look-ups on a server without batches', async () => {
    batchSupported = false;
    const list = emails(LOOKUP_BATCH_SIZE + 50);
    const lookups = new PublicKeyLookups(client, list);
    const results: PublicKeyLookup[] = [];
    // One at a time, so that the second batch would start only after the first one failed.
    for (const email of list) {
      results.push(await lookups.lookUp(email));
    }

    expect(counts.get(`POST ${BATCH_PATH}`)).toBe(1);
    expect(counts.get(`GET ${SINGLE_PATH}`)).toBe(list.length);
    expect(results.map((result) => result.identifier)).toEqual(list);
    expect(results[0]?.provisions.map((item) => item.public_key)).toEqual([provisionPublicKey]);
  });

  it('looks up an address outside the list by itself', async () => {
    const lookups = new PublicKeyLookups(client, ['listed@example.com']);
    const result = await lookups.lookUp(provisioned);

    expect(counts.get(`POST ${BATCH_PATH}`)).toBeUndefined();
    expect(counts.get(`GET ${SINGLE_PATH}`)).toBe(1);
    expect(result.provisions.map((item) => item.public_key)).toEqual([provisionPublicKey]);
  });
});
