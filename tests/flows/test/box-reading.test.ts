import { UnexpectedResponseError, unwrap } from '@provisions/api';
import {
  listCryptoActions,
  MemoryKeystore,
  RecipientError,
  readBoxesWithIdentityKey,
  readInvitedBoxes,
  redeemInvitation,
  registerIdentityKey,
  sealTextMessage,
  sendBoxes,
} from '@provisions/core';
import {
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  PUBLIC_KEY_LENGTH,
} from '@provisions/crypto';
import { describe, expect, it } from 'vitest';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** One request a client sent: method, path with query, and the JSON body if any. */
interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * Builds a `fetch` that records every request and passes it to the server.
 * `alter` may replace the server's response to `POST /boxes/joins`.
 */
function recordingFetch(
  requests: RecordedRequest[],
  alter?: (body: { items: { box: { id: string; public_key: string } }[] }) => unknown,
) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const text = request.body === null ? '' : await request.clone().text();
    requests.push({
      method: request.method,
      path: `${url.pathname}${url.search}`,
      body: text === '' ? undefined : JSON.parse(text),
    });

    const response = await fetch(request);
    if (alter === undefined || url.pathname !== '/boxes/joins' || !response.ok) {
      return response;
    }
    const altered = alter(await response.json());
    return new Response(JSON.stringify(altered), {
      status: response.status,
      headers: { 'content-type': 'application/json' },
    });
  };
}

function joinRequests(requests: readonly RecordedRequest[]): { boxes: { id: string }[] }[] {
  return requests
    .filter((request) => request.method === 'POST' && request.path === '/boxes/joins')
    .map((request) => request.body as { boxes: { id: string }[] });
}

async function sendTo(recipient: string, boxCount: number, messagesPerBox = 1) {
  return sendBoxes({
    organization: fixture.organization,
    keystore: new MemoryKeystore(),
    appUrl: fixture.server.url,
    recipient,
    boxes: Array.from({ length: boxCount }, (_, box) => ({
      title: `Box ${box}`,
      messages: Array.from({ length: messagesPerBox }, (_, message) => `box ${box} #${message}`),
    })),
  });
}

/** Signs in a person with a new identity key and sends them one box with one message. */
async function personWithIdentityKey(
  email: string,
  fetch?: (request: Request) => Promise<Response>,
) {
  const identity = await generateKeyPair();
  const person = await fixture.server.signInAs(email, fetch);
  const { publicKey } = await registerIdentityKey({
    client: person,
    secretKey: identity.secretKey,
  });
  const sent = await sendTo(email, 1);
  return { person, identity, publicKey, sent };
}

async function readError(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('readInvitedBoxes', () => {
  it('joins and reads boxes with one batch request', async () => {
    const sent = await sendTo('batch@example.com', 3);
    const requests: RecordedRequest[] = [];
    const person = await fixture.server.signInAs('batch@example.com', recordingFetch(requests));
    requests.length = 0;

    const redeemed = await redeemInvitation({ client: person, link: sent.link as string });

    expect(redeemed.boxes.map((box) => box.messages.map((message) => message.text))).toEqual([
      ['box 0 #0'],
      ['box 1 #0'],
      ['box 2 #0'],
    ]);
    expect(requests.map((request) => `${request.method} ${request.path.split('?')[0]}`)).toEqual([
      'GET /crypto/provisions',
      'GET /crypto/actions',
      'POST /boxes/joins',
    ]);
    expect(joinRequests(requests)[0]?.boxes.map((box) => box.id)).toEqual(
      sent.boxes.map((box) => box.id),
    );
  });

  it('names the sender of each message', async () => {
    const email = 'poster@example.com';
    const { person, identity, sent } = await personWithIdentityKey(email);
    const boxId = sent.boxes[0]?.id as string;
    await readBoxesWithIdentityKey({ client: person, secretKey: identity.secretKey });
    const box = unwrap(await person.GET('/boxes/{id}', { params: { path: { id: boxId } } }));
    const content = await sealTextMessage(
      'posted by the person',
      decodeBase64Url(box.public_key, { length: PUBLIC_KEY_LENGTH }),
    );
    unwrap(
      await person.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: { type: 'msg.text', content },
      }),
    );
    const me = unwrap(await person.GET('/identities/me'));

    const { boxes } = await readBoxesWithIdentityKey({
      client: person,
      secretKey: identity.secretKey,
    });

    const messages = boxes[0]?.messages ?? [];
    expect(messages.map((message) => message.text)).toEqual(['box 0 #0', 'posted by the person']);
    expect(messages[0]?.sender).toEqual({
      type: 'organization',
      id: fixture.server.organizationId,
    });
    expect(messages[1]?.sender).toEqual({ type: 'identity', id: me.id });
  });

  it('reads more than 100 boxes in batches of 100, in order', async () => {
    const sent = await sendTo('many@example.com', 230);
    const requests: RecordedRequest[] = [];
    const person = await fixture.server.signInAs('many@example.com', recordingFetch(requests));

    const redeemed = await redeemInvitation({ client: person, link: sent.link as string });

    expect(redeemed.boxes.map((box) => box.id)).toEqual(sent.boxes.map((box) => box.id));
    expect(redeemed.boxes.map((box) => box.messages[0]?.text)).toEqual(
      sent.boxes.map((_, index) => `box ${index} #0`),
    );
    const batches = joinRequests(requests);
    expect(batches.map((batch) => batch.boxes.length).sort((a, b) => a - b)).toEqual([
      30, 100, 100,
    ]);
    expect(new Set(batches.flatMap((batch) => batch.boxes.map((box) => box.id))).size).toBe(230);
  });

  it('follows the cursor of a box with more events than the first page', async () => {
    const sent = await sendTo('pages@example.com', 2, 250);
    const requests: RecordedRequest[] = [];
    const person = await fixture.server.signInAs('pages@example.com', recordingFetch(requests));

    const redeemed = await redeemInvitation({ client: person, link: sent.link as string });

    for (const [box, received] of redeemed.boxes.entries()) {
      expect(received.messages.map((message) => message.text)).toEqual(
        Array.from({ length: 250 }, (_, message) => `box ${box} #${message}`),
      );
      expect(received.unreadableMessages).toEqual([]);
    }
    const eventPages = requests.filter((request) => request.path.includes('/events?'));
    expect(eventPages).toHaveLength(4);
    for (const page of eventPages) {
      expect(page.path).toMatch(/[?&]cursor=/);
    }
  });

  it('reads a box with duplicate invitations once', async () => {
    const requests: RecordedRequest[] = [];
    const { person, identity, publicKey, sent } = await personWithIdentityKey(
      'duplicates@example.com',
      recordingFetch(requests),
    );
    const [action] = await listCryptoActions(person, publicKey);
    if (action === undefined) {
      throw new Error('the person has no crypto action');
    }
    requests.length = 0;

    const boxes = await readInvitedBoxes(person, [action, action, action], identity.secretKey);

    expect(boxes.map((box) => box.id)).toEqual([sent.boxes[0]?.id]);
    expect(boxes[0]?.messages.map((message) => message.text)).toEqual(['box 0 #0']);
    expect(joinRequests(requests).map((batch) => batch.boxes.length)).toEqual([1]);
  });

  it('rejects a joined box whose key the server misreports', async () => {
    const other = await generateKeyPair();
    const requests: RecordedRequest[] = [];
    const lying = recordingFetch(requests, (body) => ({
      items: body.items.map((item) => ({
        ...item,
        box: { ...item.box, public_key: encodeBase64Url(other.publicKey) },
      })),
    }));
    const sent = await sendTo('lied-to@example.com', 2);
    const person = await fixture.server.signInAs('lied-to@example.com', lying);

    const error = await readError(redeemInvitation({ client: person, link: sent.link as string }));

    expect(error).toBeInstanceOf(RecipientError);
    expect((error as RecipientError).code).toBe('ERR_BOX_KEY_MISMATCH');
    expect((error as Error).message).toContain(sent.boxes[0]?.id);
  });

  it('rejects a join response with the boxes out of order', async () => {
    const requests: RecordedRequest[] = [];
    const reordering = recordingFetch(requests, (body) => ({ items: [...body.items].reverse() }));
    const sent = await sendTo('reordered@example.com', 2);
    const person = await fixture.server.signInAs('reordered@example.com', reordering);

    const error = await readError(redeemInvitation({ client: person, link: sent.link as string }));

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toMatchObject({ code: 'ERR_API_UNEXPECTED_RESPONSE', path: '/boxes/joins' });
    expect((error as Error).message).toBe(
      `POST /boxes/joins: the server returned box ${sent.boxes[1]?.id} where box ${sent.boxes[0]?.id} was requested`,
    );
  });

  it('rejects a join response with a box missing', async () => {
    const requests: RecordedRequest[] = [];
    const dropping = recordingFetch(requests, (body) => ({ items: body.items.slice(1) }));
    const sent = await sendTo('dropped@example.com', 2);
    const person = await fixture.server.signInAs('dropped@example.com', dropping);

    const error = await readError(redeemInvitation({ client: person, link: sent.link as string }));

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as Error).message).toBe(
      'POST /boxes/joins: expected 2 boxes in the response, received 1',
    );
  });
});
