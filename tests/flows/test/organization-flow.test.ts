import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ApiArgumentError,
  type ApiClient,
  ApiTimeoutError,
  createApiClient,
  requestOrganizationToken,
  unwrap,
} from '@provisions/api';
import {
  connectOrganization,
  DeliveryError,
  MemoryKeystore,
  type ProvisionKeystore,
  parseInvitationLink,
  RecipientError,
  readBoxesWithIdentityKey,
  registerIdentityKey,
  revokeProvision,
  sendBoxes,
} from '@provisions/core';
import { FileKeystore } from '@provisions/core/keystore';
import { encodeBase64Url, generateKeyPair, SCRYPT_MIN_N } from '@provisions/crypto';
import { describe, expect, it } from 'vitest';
import { startSilentServer } from './support/silent-server.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

async function activeProvisions(email: string): Promise<string[]> {
  const lookup = unwrap(
    await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    }),
  );
  return lookup.provisions.map((provision) => provision.public_key);
}

async function listActions(client: ApiClient) {
  return unwrap(await client.GET('/crypto/actions', { params: { query: { limit: 100 } } })).items;
}

const oneBox = [{ title: 'Contract', messages: ['Your contract is signed.'] }];

describe('sendBoxes to a person without an identity key', () => {
  it('creates a provision, keeps its share and returns the link', async () => {
    const keystore = new MemoryKeystore();

    const result = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: 'https://app.example.com/',
      recipient: 'grace@example.org',
      boxes: oneBox,
    });

    expect(result.recipient).toBe('grace@example.org');
    expect(result.delivery).toBe('provision');
    expect(result.provision?.reused).toBe(false);
    expect(result.boxes).toHaveLength(1);
    expect(result.boxes[0]?.title).toBe('Contract');

    const link = parseInvitationLink(result.link as string);
    expect(link.appUrl).toBe('https://app.example.com');

    const entry = await keystore.get('grace@example.org');
    expect(entry?.public_key).toBe(result.provision?.publicKey);
    expect(entry?.user_key_share).toBe(encodeBase64Url(link.userKeyShare));
    expect(await activeProvisions('grace@example.org')).toEqual([result.provision?.publicKey]);
  });

  it('normalizes the recipient address', async () => {
    const keystore = new MemoryKeystore();

    const result = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: '  Hedy@Example.ORG ',
      boxes: oneBox,
    });

    expect(result.recipient).toBe('hedy@example.org');
    expect(await keystore.get('hedy@example.org')).toBeDefined();
  });

  it('reuses the provision and link from a reopened file keystore', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'provisions-reuse-'));
    const options = {
      passphrase: 'test passphrase',
      organizationId: fixture.organization.organizationId,
      serverUrl: fixture.server.url,
      encryption: { scryptN: SCRYPT_MIN_N },
    };
    try {
      const path = join(directory, 'keystore.json');
      const firstKeystore = await FileKeystore.open(path, options);
      const first = await sendBoxes({
        organization: fixture.organization,
        keystore: firstKeystore,
        appUrl: fixture.server.url,
        recipient: 'alan@example.net',
        boxes: oneBox,
      });
      await firstKeystore.close();

      const secondKeystore = await FileKeystore.open(path, options);
      const second = await sendBoxes({
        organization: fixture.organization,
        keystore: secondKeystore,
        appUrl: fixture.server.url,
        recipient: 'alan@example.net',
        boxes: [{ title: 'Payslip', messages: ['Paid.'] }],
      });
      await secondKeystore.close();

      expect(second.delivery).toBe('provision');
      expect(second.provision?.reused).toBe(true);
      expect(second.provision?.publicKey).toBe(first.provision?.publicKey);
      expect(second.link).toBe(first.link);
      expect(second.boxes[0]?.id).not.toBe(first.boxes[0]?.id);
      expect(await activeProvisions('alan@example.net')).toEqual([first.provision?.publicKey]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('saves the share before sending it', async () => {
    const memory = new MemoryKeystore();
    const activeAtPut: string[][] = [];
    const keystore: ProvisionKeystore = {
      get: (email) => memory.get(email),
      put: async (email, entry) => {
        activeAtPut.push(await activeProvisions(email));
        await memory.put(email, entry);
      },
    };

    const result = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'ida@example.com',
      boxes: oneBox,
    });

    expect(activeAtPut).toEqual([[]]);
    expect(await activeProvisions('ida@example.com')).toEqual([result.provision?.publicKey]);
  });

  it('rejects a provision missing from the keystore', async () => {
    await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'joan@example.com',
      boxes: oneBox,
    });
    const [existing] = await activeProvisions('joan@example.com');

    const attempt = sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'joan@example.com',
      boxes: oneBox,
    });

    await expect(attempt).rejects.toBeInstanceOf(DeliveryError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_PROVISION_NOT_IN_KEYSTORE' });
    await expect(attempt).rejects.toThrow(`public key ${existing}`);
    await expect(attempt).rejects.toThrow(/revoke it/);
    expect(await activeProvisions('joan@example.com')).toEqual([existing]);
  });

  it('shares one provision between concurrent sends', async () => {
    const keystore = new MemoryKeystore();
    const send = (recipient: string, title: string) =>
      sendBoxes({
        organization: fixture.organization,
        keystore,
        appUrl: fixture.server.url,
        recipient,
        boxes: [{ title, messages: ['m'] }],
      });

    const results = await Promise.all([
      send('Dorothy@Example.org', 'First'),
      send('dorothy@example.org', 'Second'),
      send(' DOROTHY@example.org', 'Third'),
    ]);
    const later = await send('dorothy@example.org', 'Later');

    const [created] = await activeProvisions('dorothy@example.org');
    expect(results.map((result) => result.provision?.reused)).toEqual([false, true, true]);
    expect(new Set(results.map((result) => result.link))).toEqual(new Set([later.link]));
    expect(later.provision?.publicKey).toBe(created);
    expect(later.provision?.reused).toBe(true);
    expect((await keystore.get('dorothy@example.org'))?.public_key).toBe(created);
  });

  it('creates a new provision after the old one was revoked', async () => {
    const keystore = new MemoryKeystore();
    const first = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'katherine@example.com',
      boxes: oneBox,
    });
    await revokeProvision({
      organization: fixture.organization,
      publicKey: first.provision?.publicKey as string,
    });

    const second = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'katherine@example.com',
      boxes: oneBox,
    });

    expect(second.provision?.reused).toBe(false);
    expect(second.provision?.publicKey).not.toBe(first.provision?.publicKey);
    expect(second.link).not.toBe(first.link);
    expect((await keystore.get('katherine@example.com'))?.public_key).toBe(
      second.provision?.publicKey,
    );
  });

  it('sends no share, secret key or link to the server', async () => {
    const requests: string[] = [];
    const watched = await fixture.server.connect(async (request) => {
      requests.push(`${request.method} ${request.url} ${await request.clone().text()}`);
      return fetch(request);
    });

    const result = await sendBoxes({
      organization: watched,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'lise@example.com',
      boxes: [...oneBox, { title: 'Second', messages: ['More.'] }],
    });
    const share = encodeBase64Url(parseInvitationLink(result.link as string).userKeyShare);

    expect(requests.length).toBeGreaterThan(3);
    for (const request of requests) {
      expect(request).not.toContain(share);
      expect(request).not.toContain('join#provision');
    }
    expect(requests.filter((request) => request.includes('misakey_key_share'))).toHaveLength(1);
  });

  it('retries a lost box request with the same Idempotency-Key', async () => {
    const keys: string[] = [];
    let lost = false;
    const flaky = await fixture.server.connect(async (request) => {
      const response = await fetch(request.clone());
      if (request.method === 'POST' && new URL(request.url).pathname.endsWith('/boxes')) {
        keys.push(request.headers.get('Idempotency-Key') ?? '');
        if (!lost) {
          lost = true;
          throw new TypeError('fetch failed');
        }
      }
      return response;
    });

    const result = await sendBoxes({
      organization: flaky,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'mary@example.com',
      boxes: oneBox,
    });
    const person = await fixture.server.signInAs('mary@example.com');

    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect((await listActions(person)).map((action) => action.box_id)).toEqual([
      result.boxes[0]?.id,
    ]);
  });

  it('raises an argument error without a retry', async () => {
    const token = await requestOrganizationToken(createApiClient({ baseUrl: fixture.server.url }), {
      clientId: fixture.server.organizationId,
      clientSecret: fixture.server.clientSecret,
    });
    // The first call is for the recipient lookup, the next ones for the box creation. The
    // bearer token middleware raises an ApiArgumentError for a token that contains a space.
    let tokenCalls = 0;
    const boxRequests: Request[] = [];
    const organization = {
      organizationId: fixture.server.organizationId,
      client: createApiClient({
        baseUrl: fixture.server.url,
        token: () => {
          tokenCalls += 1;
          return tokenCalls === 1 ? token.access_token : 'not a token';
        },
        fetch: (request) => {
          if (request.method === 'POST' && new URL(request.url).pathname.endsWith('/boxes')) {
            boxRequests.push(request);
          }
          return fetch(request);
        },
      }),
    };

    const attempt = sendBoxes({
      organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'ivan@example.com',
      boxes: oneBox,
    });

    await expect(attempt).rejects.toBeInstanceOf(ApiArgumentError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(tokenCalls).toBe(2);
    expect(boxRequests).toHaveLength(0);
  });

  it.each([
    ['no boxes', [], /boxes: expected at least one box/],
    [
      'an empty title',
      [{ title: ' ', messages: [] }],
      /boxes\[0\]\.title: expected a non-empty string/,
    ],
    ['a long title', [{ title: 'x'.repeat(201), messages: [] }], /at most 200 characters/],
    [
      'an empty message',
      [
        { title: 'Box', messages: ['ok'] },
        { title: 'Box', messages: ['fine', ''] },
      ],
      /boxes\[1\]\.messages\[1\]: expected a non-empty string/,
    ],
  ])('rejects %s before any request', async (_name, boxes, message) => {
    const keystore = new MemoryKeystore();

    const attempt = sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'nora@example.com',
      boxes,
    });

    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
    expect(await keystore.get('nora@example.com')).toBeUndefined();
    expect(await activeProvisions('nora@example.com')).toEqual([]);
  });
});

describe('sendBoxes to a person with an identity key', () => {
  it('auto-invites the identity key without a link', async () => {
    const person = await fixture.server.signInAs('ada@example.com');
    const { secretKey } = await generateKeyPair();
    await registerIdentityKey({ client: person, secretKey });
    const keystore = new MemoryKeystore();

    const result = await sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'ada@example.com',
      boxes: [
        { title: 'Welcome', messages: ['Hello Ada.', 'Badge at the desk.'] },
        { title: 'Wi-Fi', messages: ['orchard-lantern-42'] },
      ],
    });

    expect(result.delivery).toBe('identity');
    expect(result.link).toBeUndefined();
    expect(result.provision).toBeUndefined();
    expect(await keystore.get('ada@example.com')).toBeUndefined();
    expect(await activeProvisions('ada@example.com')).toEqual([]);

    const read = await readBoxesWithIdentityKey({ client: person, secretKey });

    expect(read.boxes.map((box) => box.id)).toEqual(result.boxes.map((box) => box.id));
    expect(read.boxes.map((box) => box.title)).toEqual(['Welcome', 'Wi-Fi']);
    expect(read.boxes[0]?.messages.map((message) => message.text)).toEqual([
      'Hello Ada.',
      'Badge at the desk.',
    ]);
    expect(read.boxes[1]?.messages.map((message) => message.text)).toEqual(['orchard-lantern-42']);
  });

  it('registers an identity key once and rejects another one', async () => {
    const person = await fixture.server.signInAs('barbara@example.com');
    const first = await generateKeyPair();
    const second = await generateKeyPair();

    const registered = await registerIdentityKey({ client: person, secretKey: first.secretKey });
    const again = await registerIdentityKey({ client: person, secretKey: first.secretKey });
    const other = registerIdentityKey({ client: person, secretKey: second.secretKey });

    expect(registered).toEqual({ publicKey: encodeBase64Url(first.publicKey), registered: true });
    expect(again).toEqual({ publicKey: encodeBase64Url(first.publicKey), registered: false });
    await expect(other).rejects.toMatchObject({ code: 'ERR_IDENTITY_KEY_MISMATCH' });
  });

  it('rejects reading with another identity key', async () => {
    const person = await fixture.server.signInAs('emmy@example.com');
    const registered = await generateKeyPair();
    const other = await generateKeyPair();
    await registerIdentityKey({ client: person, secretKey: registered.secretKey });
    await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'emmy@example.com',
      boxes: oneBox,
    });

    const read = readBoxesWithIdentityKey({ client: person, secretKey: other.secretKey });

    await expect(read).rejects.toBeInstanceOf(RecipientError);
    await expect(read).rejects.toMatchObject({ code: 'ERR_IDENTITY_KEY_MISMATCH' });
    await expect(read).rejects.toThrow(encodeBase64Url(registered.publicKey));
    await expect(read).rejects.toThrow(encodeBase64Url(other.publicKey));
  });

  it('rejects reading before a key is registered', async () => {
    const person = await fixture.server.signInAs('sophie@example.com');
    const { secretKey, publicKey } = await generateKeyPair();

    const read = readBoxesWithIdentityKey({ client: person, secretKey });

    await expect(read).rejects.toBeInstanceOf(RecipientError);
    await expect(read).rejects.toMatchObject({ code: 'ERR_IDENTITY_KEY_MISMATCH' });
    await expect(read).rejects.toThrow(
      `the account sophie@example.com has no identity public key, so no box is sealed to ${encodeBase64Url(publicKey)}`,
    );
  });
});

describe('organization request time limit', () => {
  it('stops waiting for a silent token endpoint', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const attempt = connectOrganization({
        baseUrl: silent.url,
        clientId: fixture.server.organizationId,
        clientSecret: fixture.server.clientSecret,
        timeoutMs: 200,
      });

      await expect(attempt).rejects.toBeInstanceOf(ApiTimeoutError);
      await expect(attempt).rejects.toThrow(
        'POST /oauth/token: the server did not respond within 0.2 s',
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(silent.requests).toEqual(['POST /oauth/token']);
    } finally {
      await silent.close();
    }
  });

  it('sends a timed-out box request once', async () => {
    const boxRequests: Request[] = [];
    const organization = await connectOrganization({
      baseUrl: fixture.server.url,
      clientId: fixture.server.organizationId,
      clientSecret: fixture.server.clientSecret,
      timeoutMs: 1_000,
      fetch: (request) => {
        if (request.method !== 'POST' || !new URL(request.url).pathname.endsWith('/boxes')) {
          return fetch(request);
        }
        boxRequests.push(request);
        return new Promise((_resolve, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason));
        });
      },
    });

    const attempt = sendBoxes({
      organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'tim@example.com',
      boxes: oneBox,
    });

    await expect(attempt).rejects.toBeInstanceOf(ApiTimeoutError);
    await expect(attempt).rejects.toMatchObject({
      method: 'POST',
      path: '/organizations/{oid}/boxes',
      timeoutMs: 1_000,
    });
    expect(boxRequests).toHaveLength(1);
    expect(boxRequests[0]?.signal.aborted).toBe(true);
  });
});
