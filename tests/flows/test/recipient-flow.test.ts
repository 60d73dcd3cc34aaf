import { type ApiClient, ApiError, createApiClient, unwrap } from '@provisions/api';
import {
  formatInvitationLink,
  InvitationLinkError,
  MemoryKeystore,
  RecipientError,
  redeemInvitation,
  requestEmailCode,
  sendBoxes,
  signIn,
} from '@provisions/core';
import {
  createProvision,
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  seal,
  splitSecret,
} from '@provisions/crypto';
import { describe, expect, it } from 'vitest';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

const utf8 = new TextEncoder();

async function redeemError(client: ApiClient, link: string): Promise<unknown> {
  try {
    await redeemInvitation({ client, link });
  } catch (error) {
    return error;
  }
  throw new Error('expected redeemInvitation to fail');
}

/**
 * Creates a box through the raw API with a hand-made provision and
 * invitation, for cases that sendBoxes never produces.
 */
async function createRawBox(options: {
  email: string;
  invitationPlaintext: Uint8Array;
  boxPublicKey?: Uint8Array;
  serverShare?: string;
}) {
  const provision = await createProvision();
  const box = await generateKeyPair();
  const payload = {
    ...provision.payload,
    misakey_key_share: options.serverShare ?? provision.payload.misakey_key_share,
  };
  const sealed = await seal(options.invitationPlaintext, provision.publicKey);

  const created = unwrap(
    await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.organizationId } },
      body: {
        title: 'Hand-made box',
        public_key: encodeBase64Url(options.boxPublicKey ?? box.publicKey),
        crypto: {
          invitation_data: { [provision.payload.public_key]: encodeBase64Url(sealed) },
          provisions: { [options.email]: payload },
        },
      },
    }),
  );

  return {
    boxId: created.id,
    box,
    provision,
    link: formatInvitationLink(fixture.server.url, provision.userKeyShare),
  };
}

describe('redeemInvitation', () => {
  it('opens two boxes through one link with exactly the messages sent', async () => {
    const sent = await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'alan@example.net',
      boxes: [
        {
          title: 'Payslip, January',
          messages: ['Net pay: 3,120.00 EUR.', 'Paid on 28 January. ✓'],
        },
        { title: 'Tax certificate', messages: ['Reference TC-2041.\nKeep it.'] },
      ],
    });
    const person = await fixture.server.signInAs('alan@example.net');

    const redeemed = await redeemInvitation({ client: person, link: sent.link as string });

    expect(redeemed.provisionPublicKey).toBe(sent.provision?.publicKey);
    expect(redeemed.boxes.map((box) => ({ id: box.id, title: box.title }))).toEqual(sent.boxes);
    expect(redeemed.boxes[0]?.messages.map((message) => message.text)).toEqual([
      'Net pay: 3,120.00 EUR.',
      'Paid on 28 January. ✓',
    ]);
    expect(redeemed.boxes[1]?.messages.map((message) => message.text)).toEqual([
      'Reference TC-2041.\nKeep it.',
    ]);
    for (const message of redeemed.boxes.flatMap((box) => box.messages)) {
      expect(message.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(message.createdAt))).toBe(false);
    }
  });

  it('opens boxes sent later through the same link, and again on every call', async () => {
    const keystore = new MemoryKeystore();
    const send = (title: string) =>
      sendBoxes({
        organization: fixture.organization,
        keystore,
        appUrl: fixture.server.url,
        recipient: 'grace@example.org',
        boxes: [{ title, messages: [`${title} text`] }],
      });
    const first = await send('First');
    const person = await fixture.server.signInAs('grace@example.org');
    const before = await redeemInvitation({ client: person, link: first.link as string });

    const second = await send('Second');
    const after = await redeemInvitation({ client: person, link: first.link as string });

    expect(second.link).toBe(first.link);
    expect(before.boxes.map((box) => box.title)).toEqual(['First']);
    expect(after.boxes.map((box) => box.title)).toEqual(['First', 'Second']);
    expect(after.boxes.map((box) => box.messages.map((message) => message.text))).toEqual([
      ['First text'],
      ['Second text'],
    ]);
  });

  it('reads every page of a long box', async () => {
    const messages = Array.from({ length: 120 }, (_, index) => `message ${index}`);
    const sent = await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'mileva@example.com',
      boxes: [{ title: 'Long', messages }],
    });
    const person = await fixture.server.signInAs('mileva@example.com');

    const redeemed = await redeemInvitation({ client: person, link: sent.link as string });

    expect(redeemed.boxes[0]?.messages.map((message) => message.text)).toEqual(messages);
  });

  it('rejects a person with another email address', async () => {
    const sent = await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'rosalind@example.com',
      boxes: [{ title: 'Private', messages: ['For Rosalind only.'] }],
    });
    const intruder = await fixture.server.signInAs('eve@example.com');

    const error = await redeemError(intruder, sent.link as string);

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_PROVISION_NOT_FOUND');
    expect((error as Error).message).toMatch(/sign in with the address the invitation was sent to/);
    expect((error as Error).cause).toBeUndefined();
  });

  it('rejects a tampered share without returning data', async () => {
    const sent = await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'lise@example.com',
      boxes: [{ title: 'Private', messages: ['secret'] }],
    });
    const person = await fixture.server.signInAs('lise@example.com');
    const link = sent.link as string;
    const last = link.at(-1) === 'A' ? 'B' : 'A';
    const tampered = `${link.slice(0, -1)}${last}`;

    const error = await redeemError(person, tampered);

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_PROVISION_NOT_FOUND');
    expect((error as Error).message).not.toContain(tampered.split('provision:')[1]);
  });

  it('rejects a damaged link before any request', async () => {
    let requests = 0;
    const client = createApiClient({
      baseUrl: fixture.server.url,
      fetch: async (request) => {
        requests += 1;
        return fetch(request);
      },
    });

    const error = await redeemError(client, `${fixture.server.url}/join#provision:abc`);

    expect(error).toBeInstanceOf(InvitationLinkError);
    expect((error as InvitationLinkError).reason).toBe('wrong_length');
    expect(requests).toBe(0);
  });

  it('rejects a server share that does not rebuild the provision key', async () => {
    const unrelated = await generateKeyPair();
    const [, wrongShare] = await splitSecret(unrelated.secretKey);
    const raw = await createRawBox({
      email: 'chien@example.com',
      invitationPlaintext: utf8.encode('{}'),
      serverShare: encodeBase64Url(wrongShare as Uint8Array),
    });
    const person = await fixture.server.signInAs('chien@example.com');

    const error = await redeemError(person, raw.link);

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_SHARE_MISMATCH');
  });

  it('rejects an invitation whose key does not match the box, without joining', async () => {
    const otherBox = await generateKeyPair();
    const raw = await createRawBox({
      email: 'emmy@example.com',
      invitationPlaintext: utf8.encode(
        JSON.stringify({ box_secret_key: encodeBase64Url(otherBox.secretKey) }),
      ),
    });
    const person = await fixture.server.signInAs('emmy@example.com');

    const error = await redeemError(person, raw.link);

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_BOX_KEY_MISMATCH');
    expect((error as Error).message).toContain(raw.boxId);
    const events = await person.GET('/boxes/{id}/events', { params: { path: { id: raw.boxId } } });
    expect(events.response.ok).toBe(false);
  });

  it.each([
    ['extra fields', (key: string) => JSON.stringify({ box_secret_key: key, note: 'x' })],
    ['a short key', (key: string) => JSON.stringify({ box_secret_key: key.slice(1) })],
    ['a number', () => JSON.stringify({ box_secret_key: 42 })],
    ['text that is not JSON', () => 'box_secret_key'],
  ])('rejects an invitation with %s', async (name, makePlaintext) => {
    const box = await generateKeyPair();
    const email = `invalid-${name.replaceAll(' ', '-')}@example.com`;
    const raw = await createRawBox({
      email,
      invitationPlaintext: utf8.encode(makePlaintext(encodeBase64Url(box.secretKey))),
      boxPublicKey: box.publicKey,
    });
    const person = await fixture.server.signInAs(email);

    const error = await redeemError(person, raw.link);

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_INVALID_INVITATION');
  });

  it('lists a damaged message apart and reads the rest', async () => {
    const sent = await sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'ada.l@example.com',
      boxes: [
        { title: 'Box', messages: ['fine'] },
        { title: 'Other box', messages: ['also fine'] },
      ],
    });
    const boxId = sent.boxes[0]?.id as string;
    const box = unwrap(
      await fixture.organization.client.GET('/boxes/{id}', { params: { path: { id: boxId } } }),
    );
    const invalidUtf8 = await seal(Uint8Array.of(0xff, 0xfe), decodeBase64Url(box.public_key));
    unwrap(
      await fixture.organization.client.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: {
          type: 'msg.text',
          content: { encrypted: encodeBase64Url(invalidUtf8), public_key: box.public_key },
        },
      }),
    );
    unwrap(
      await fixture.organization.client.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: {
          type: 'msg.text',
          content: { encrypted: 'A'.repeat(64), public_key: box.public_key },
        },
      }),
    );
    const person = await fixture.server.signInAs('ada.l@example.com');

    const { boxes } = await redeemInvitation({ client: person, link: sent.link as string });

    expect(boxes.map((received) => received.messages.map((message) => message.text))).toEqual([
      ['fine'],
      ['also fine'],
    ]);
    expect(boxes[0]?.unreadableMessages).toHaveLength(2);
    expect(boxes[0]?.unreadableMessages[0]?.reason).toMatch(/not valid UTF-8/);
    expect(boxes[0]?.unreadableMessages[1]?.reason).toMatch(/cannot be opened/);
    expect(boxes[1]?.unreadableMessages).toEqual([]);
  });
});

describe('signIn', () => {
  it('rejects a code that is not six digits before any request', async () => {
    const client = createApiClient({ baseUrl: fixture.server.url });

    await expect(signIn(client, 'ada@example.com', '12345')).rejects.toMatchObject({
      code: 'ERR_INVALID_CODE',
    });
  });

  it('reports a wrong code as a 401 from the server', async () => {
    const client = createApiClient({ baseUrl: fixture.server.url });
    await requestEmailCode(client, 'wrong-code@example.com');

    const attempt = signIn(client, 'wrong-code@example.com', '000000');

    await expect(attempt).rejects.toBeInstanceOf(ApiError);
    await expect(attempt).rejects.toMatchObject({ status: 401 });
  });

  it('returns a token that acts as the person', async () => {
    const person = await fixture.server.signInAs('Sofia@Example.com');

    const identity = unwrap(await person.GET('/identities/me'));

    expect(identity.email).toBe('sofia@example.com');
  });
});
