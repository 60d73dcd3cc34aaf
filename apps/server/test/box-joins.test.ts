import { randomUUID } from 'node:crypto';
import type { BoxJoinRequest } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import { JOINED_BOX_EVENTS_LIMIT, JOINED_BOXES_CONTENT_BUDGET } from '../src/limits.js';
import {
  boxInvitingKey,
  boxWithProvision,
  newBoxKeys,
  newProvision,
  sealText,
  type TestBoxKeys,
  type TestProvision,
} from './support/box-material.js';
import { type TestPerson, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

interface SentBox {
  id: string;
  keys: TestBoxKeys;
}

/** Creates a box invited to `person` through `provision`, made for their email when new. */
async function sendBox(
  person: TestPerson,
  provision: TestProvision,
  options: { newProvision: boolean },
): Promise<SentBox> {
  const { body, box } = await boxWithProvision(person.identity.email, provision);
  if (!options.newProvision) {
    delete body.crypto?.provisions;
  }
  const created = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: fixture.organization.id } },
    body,
  });
  if (created.data === undefined) {
    throw new Error(`box creation failed with ${created.response.status}`);
  }
  return { id: created.data.id, keys: box };
}

/** Signs a new person in and sends them `count` boxes through one provision. */
async function personWithBoxes(count: number): Promise<{
  person: TestPerson;
  provision: TestProvision;
  boxes: SentBox[];
}> {
  const person = await fixture.server.signIn();
  const provision = await newProvision();
  const boxes: SentBox[] = [];
  for (let index = 0; index < count; index += 1) {
    boxes.push(await sendBox(person, provision, { newProvision: index === 0 }));
  }
  return { person, provision, boxes };
}

async function postMessage(box: SentBox, text: string): Promise<void> {
  const posted = await fixture.organization.client.POST('/boxes/{id}/events', {
    params: { path: { id: box.id } },
    body: {
      type: 'msg.text',
      content: { encrypted: await sealText(box.keys, text), public_key: box.keys.publicKey },
    },
  });
  if (posted.response.status !== 201) {
    throw new Error(`posting a message failed with ${posted.response.status}`);
  }
}

function joinRequest(boxes: readonly SentBox[]): BoxJoinRequest {
  return { boxes: boxes.map((box) => ({ id: box.id, public_key: box.keys.publicKey })) };
}

async function joinEventCount(person: TestPerson, box: SentBox): Promise<number> {
  const { data } = await person.client.GET('/boxes/{id}/events', {
    params: { path: { id: box.id }, query: { limit: 100 } },
  });
  return (data?.items ?? []).filter((event) => event.type === 'member.join').length;
}

describe('POST /boxes/joins', () => {
  it('joins boxes and returns each with its events in request order', async () => {
    const { person, boxes } = await personWithBoxes(3);
    await postMessage(boxes[1] as SentBox, 'second box, first message');
    const reversed = [...boxes].reverse();

    const { data, response } = await person.client.POST('/boxes/joins', {
      body: joinRequest(reversed),
    });

    expect(response.status).toBe(200);
    expect(data?.items.map((item) => item.box.id)).toEqual(reversed.map((box) => box.id));
    expect(data?.items.map((item) => item.box.public_key)).toEqual(
      reversed.map((box) => box.keys.publicKey),
    );
    expect(data?.items.map((item) => item.events.map((event) => event.type))).toEqual([
      ['member.join'],
      ['msg.text', 'member.join'],
      ['member.join'],
    ]);
    expect(data?.items[1]?.events[1]?.sender).toEqual({
      type: 'identity',
      id: person.identity.id,
    });
    expect(data?.items.map((item) => item.next_cursor)).toEqual([null, null, null]);
  });

  it('makes the person a member who can post', async () => {
    const { person, boxes } = await personWithBoxes(1);
    const box = boxes[0] as SentBox;
    await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });

    const posted = await person.client.POST('/boxes/{id}/events', {
      params: { path: { id: box.id } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(box.keys, 'reply'), public_key: box.keys.publicKey },
      },
    });

    expect(posted.response.status).toBe(201);
  });

  it('adds no second join event for a member', async () => {
    const { person, boxes } = await personWithBoxes(2);
    const first = boxes[0] as SentBox;
    const joinedAlone = await person.client.POST('/boxes/{id}/events', {
      params: { path: { id: first.id } },
      body: { type: 'member.join' },
    });

    const once = await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });
    const twice = await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });

    expect(once.response.status).toBe(200);
    expect(twice.response.status).toBe(200);
    expect(await joinEventCount(person, first)).toBe(1);
    expect(await joinEventCount(person, boxes[1] as SentBox)).toBe(1);
    expect(twice.data?.items[0]?.events.map((event) => event.id)).toEqual([joinedAlone.data?.id]);
    expect(twice.data?.items[1]?.events).toEqual(once.data?.items[1]?.events);
  });

  it('accepts boxes invited to the identity key', async () => {
    const person = await fixture.server.signIn();
    const identityKeys = await newBoxKeys();
    await person.client.PUT('/identities/me/public-key', {
      body: { public_key: identityKeys.publicKey },
    });
    const { body, box } = await boxInvitingKey(identityKeys.publicKey);
    const created = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body,
    });

    const { response } = await person.client.POST('/boxes/joins', {
      body: { boxes: [{ id: created.data?.id as string, public_key: box.publicKey }] },
    });

    expect(response.status).toBe(200);
  });

  it('returns 404 pointing at a box not invited, and joins nothing', async () => {
    const { person, boxes } = await personWithBoxes(1);
    const other = await personWithBoxes(1);
    const request = joinRequest([boxes[0] as SentBox, other.boxes[0] as SentBox]);

    const { error, response } = await person.client.POST('/boxes/joins', { body: request });

    expect(response.status).toBe(404);
    expect(error?.type).toBe('urn:provisions:problem:not-found');
    expect(error?.errors).toEqual([
      { pointer: '/boxes/1/id', detail: 'must be a box you are invited to or a member of' },
    ]);
    expect(await joinEventCount(other.person, other.boxes[0] as SentBox)).toBe(0);
    const events = await person.client.GET('/boxes/{id}/events', {
      params: { path: { id: (boxes[0] as SentBox).id } },
    });
    expect(events.response.status).toBe(404);
  });

  it('treats a missing box like one not invited', async () => {
    const { person, boxes } = await personWithBoxes(1);
    const other = await personWithBoxes(1);
    const missingId = randomUUID();

    const hidden = await person.client.POST('/boxes/joins', {
      body: joinRequest([boxes[0] as SentBox, other.boxes[0] as SentBox]),
    });
    const missing = await person.client.POST('/boxes/joins', {
      body: {
        boxes: [
          { id: (boxes[0] as SentBox).id, public_key: (boxes[0] as SentBox).keys.publicKey },
          { id: missingId, public_key: (other.boxes[0] as SentBox).keys.publicKey },
        ],
      },
    });

    expect(missing.response.status).toBe(404);
    expect(missing.error?.errors).toEqual(hidden.error?.errors);
    expect(missing.error?.detail).toBe(`box ${missingId} not found`);
    expect(hidden.error?.detail).toBe(`box ${(other.boxes[0] as SentBox).id} not found`);
  });

  it('returns 404 after the provision is revoked', async () => {
    const { person, provision, boxes } = await personWithBoxes(1);
    await fixture.organization.client.DELETE('/organizations/{oid}/provisions/{public_key}', {
      params: { path: { oid: fixture.organization.id, public_key: provision.payload.public_key } },
    });

    const { response } = await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });

    expect(response.status).toBe(404);
  });

  it('rejects a wrong public key with 422 pointing at it, and joins nothing', async () => {
    const { person, boxes } = await personWithBoxes(2);
    const request = joinRequest(boxes);
    const wrongKey = (await newBoxKeys()).publicKey;
    (request.boxes[1] as { public_key: string }).public_key = wrongKey;

    const { error, response } = await person.client.POST('/boxes/joins', { body: request });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:box-key-mismatch');
    expect(error?.errors?.map((entry) => entry.pointer)).toEqual(['/boxes/1/public_key']);
    expect(error?.detail).not.toContain(wrongKey);
    expect(await joinEventCount(person, boxes[0] as SentBox)).toBe(0);
  });

  it('rejects a box listed twice with 400 pointing at the second', async () => {
    const { person, boxes } = await personWithBoxes(2);
    const request = joinRequest([boxes[0] as SentBox, boxes[1] as SentBox, boxes[0] as SentBox]);

    const { error, response } = await person.client.POST('/boxes/joins', { body: request });

    expect(response.status).toBe(400);
    expect(error?.type).toBe('urn:provisions:problem:invalid-request');
    expect(error?.errors?.map((entry) => entry.pointer)).toEqual(['/boxes/2/id']);
  });

  it('rejects an empty list and more than 100 boxes with 400', async () => {
    const person = await fixture.server.signIn();
    const key = (await newBoxKeys()).publicKey;
    const tooMany = Array.from({ length: 101 }, () => ({ id: randomUUID(), public_key: key }));

    const empty = await person.client.POST('/boxes/joins', { body: { boxes: [] } });
    const large = await person.client.POST('/boxes/joins', { body: { boxes: tooMany } });

    expect(empty.response.status).toBe(400);
    expect(empty.error?.errors?.[0]?.pointer).toBe('/boxes');
    expect(large.response.status).toBe(400);
    expect(large.error?.errors?.[0]?.pointer).toBe('/boxes');
  });

  it('rejects an organization token with 403', async () => {
    const { boxes } = await personWithBoxes(1);

    const { error, response } = await fixture.organization.client.POST('/boxes/joins', {
      body: joinRequest(boxes),
    });

    expect(response.status).toBe(403);
    expect(error?.type).toBe('urn:provisions:problem:wrong-principal');
  });

  it('pages a long box and continues with its cursor', async () => {
    const { person, boxes } = await personWithBoxes(1);
    const box = boxes[0] as SentBox;
    const total = JOINED_BOX_EVENTS_LIMIT + 5;
    for (let index = 0; index < total; index += 1) {
      await postMessage(box, `message ${index}`);
    }

    const { data } = await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });
    const first = data?.items[0];
    const rest = await person.client.GET('/boxes/{id}/events', {
      params: { path: { id: box.id }, query: { cursor: first?.next_cursor as string, limit: 100 } },
    });

    expect(first?.events).toHaveLength(JOINED_BOX_EVENTS_LIMIT);
    expect(first?.next_cursor).toBeTypeOf('string');
    expect(rest.data?.items.map((event) => event.type)).toEqual([
      ...Array.from({ length: 5 }, () => 'msg.text'),
      'member.join',
    ]);
    expect(rest.data?.next_cursor).toBeNull();
  });

  it('stops adding events once the content budget is spent', async () => {
    const { person, boxes } = await personWithBoxes(2);
    const [large, small] = boxes as [SentBox, SentBox];
    // A sealed message of 262,400 bytes is 349,867 characters. 11 of them fit in the
    // 4 Mi-character budget, so the 12th and the second box's message do not.
    const text = 'x'.repeat(262_400 - 48);
    const messages = Math.floor(JOINED_BOXES_CONTENT_BUDGET / 349_867) + 1;
    for (let index = 0; index < messages; index += 1) {
      await postMessage(large, text);
    }
    await postMessage(small, text);

    const { data } = await person.client.POST('/boxes/joins', { body: joinRequest(boxes) });
    const rest = await person.client.GET('/boxes/{id}/events', {
      params: {
        path: { id: large.id },
        query: { cursor: data?.items[0]?.next_cursor as string, limit: 100 },
      },
    });

    expect(data?.items[0]?.events).toHaveLength(messages - 1);
    expect(data?.items[0]?.next_cursor).toBeTypeOf('string');
    expect(rest.data?.items.map((event) => event.type)).toEqual(['msg.text', 'member.join']);
    expect(data?.items[1]?.events.map((event) => event.type)).toEqual(['msg.text']);
    expect(data?.items[1]?.next_cursor).toBeTypeOf('string');
  });
});
