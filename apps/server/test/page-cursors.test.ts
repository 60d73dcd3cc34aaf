import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccessToken, createApiClient, type Problem } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import { CURSOR_KEY_FILE_NAME } from '../src/http/cursor-key.js';
import { createOrganization, startServer } from '../src/index.js';
import { boxInvitingKey, boxWithProvision, newBoxKeys, sealText } from './support/box-material.js';
import {
  type OrganizationCredentials,
  requestOrganizationToken,
} from './support/organization-token.js';
import { type TestOrganization, type TestPerson, useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** Creates a box of the organization with `count` messages and returns its id. */
async function boxWithMessages(count: number, by = fixture.organization): Promise<string> {
  const box = await newBoxKeys();
  const { data } = await by.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: by.id } },
    body: { title: 'Paged box', public_key: box.publicKey },
  });
  const id = data?.id ?? '';
  for (let index = 0; index < count; index += 1) {
    await by.client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(box, `message ${index}`), public_key: box.publicKey },
      },
    });
  }
  return id;
}

/** Signs in a new person with `count` pending invitations to one provision; returns its key too. */
async function personWithInvitations(
  count: number,
): Promise<{ person: TestPerson; provisionKey: string }> {
  const email = fixture.server.newEmail();
  const { body, provision } = await boxWithProvision(email);
  await fixture.organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: fixture.organization.id } },
    body,
  });
  const provisionKey = provision.payload.public_key;
  for (let index = 1; index < count; index += 1) {
    const more = await boxInvitingKey(provisionKey);
    await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.id } },
      body: more.body,
    });
  }
  return { person: await fixture.server.signIn(email), provisionKey };
}

async function firstEventCursor(id: string, by = fixture.organization): Promise<string> {
  const { data } = await by.client.GET('/boxes/{id}/events', {
    params: { path: { id }, query: { limit: 1 } },
  });
  if (typeof data?.next_cursor !== 'string') {
    throw new Error('expected a next_cursor on the first page of events');
  }
  return data.next_cursor;
}

async function firstActionCursor(person: TestPerson, key?: string): Promise<string> {
  const query = key === undefined ? { limit: 1 } : { limit: 1, encryption_public_key: key };
  const { data } = await person.client.GET('/crypto/actions', { params: { query } });
  if (typeof data?.next_cursor !== 'string') {
    throw new Error('expected a next_cursor on the first page of crypto actions');
  }
  return data.next_cursor;
}

/** Checks that a response is the 400 problem that names the `cursor` parameter. */
function expectCursorRejected(response: Response, problem: Problem | undefined): void {
  expect(response.status).toBe(400);
  expect(problem?.type).toBe('urn:provisions:problem:invalid-request');
  expect(problem?.errors).toEqual([{ parameter: 'cursor', detail: expect.any(String) }]);
}

describe('page cursors', () => {
  it('continue their own listing', async () => {
    const id = await boxWithMessages(3);
    const cursor = await firstEventCursor(id);

    const { data, response } = await fixture.organization.client.GET('/boxes/{id}/events', {
      params: { path: { id }, query: { limit: 5, cursor } },
    });

    expect(response.status).toBe(200);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(data?.items).toHaveLength(2);
  });

  it('are rejected for another box', async () => {
    const first = await boxWithMessages(2);
    const second = await boxWithMessages(2);
    const cursor = await firstEventCursor(first);

    const { response, error } = await fixture.organization.client.GET('/boxes/{id}/events', {
      params: { path: { id: second }, query: { cursor } },
    });

    expectCursorRejected(response, error);
  });

  it('are rejected for another organization', async () => {
    const other = await fixture.server.organization('Other organization');
    const mine = await boxWithMessages(2);
    const theirs = await boxWithMessages(2, other);
    const cursor = await firstEventCursor(mine);

    const { response, error } = await other.client.GET('/boxes/{id}/events', {
      params: { path: { id: theirs }, query: { cursor } },
    });

    expectCursorRejected(response, error);
  });

  it('are rejected for another person', async () => {
    const alice = await personWithInvitations(2);
    const bob = await personWithInvitations(2);
    const cursor = await firstActionCursor(alice.person);

    const { response, error } = await bob.person.client.GET('/crypto/actions', {
      params: { query: { cursor } },
    });

    expectCursorRejected(response, error);
  });

  it('are rejected with another filter', async () => {
    const { person, provisionKey } = await personWithInvitations(3);
    const filtered = await firstActionCursor(person, provisionKey);
    const unfiltered = await firstActionCursor(person);

    const withoutFilter = await person.client.GET('/crypto/actions', {
      params: { query: { cursor: filtered } },
    });
    const withFilter = await person.client.GET('/crypto/actions', {
      params: { query: { cursor: unfiltered, encryption_public_key: provisionKey } },
    });
    const sameFilter = await person.client.GET('/crypto/actions', {
      params: { query: { cursor: filtered, encryption_public_key: provisionKey } },
    });

    expectCursorRejected(withoutFilter.response, withoutFilter.error);
    expectCursorRejected(withFilter.response, withFilter.error);
    expect(sameFilter.response.status).toBe(200);
    expect(sameFilter.data?.items).toHaveLength(2);
  });

  it('are rejected in another operation', async () => {
    const { person } = await personWithInvitations(2);
    const actionCursor = await firstActionCursor(person);
    const id = await boxWithMessages(2);

    const { response, error } = await fixture.organization.client.GET('/boxes/{id}/events', {
      params: { path: { id }, query: { cursor: actionCursor } },
    });

    expectCursorRejected(response, error);
  });

  it('are rejected when altered', async () => {
    const id = await boxWithMessages(2);
    const cursor = await firstEventCursor(id);
    const altered = [
      `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`,
      `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`,
      cursor.slice(0, -1),
      `${cursor}A`,
    ];

    for (const value of altered) {
      const { response, error } = await fixture.organization.client.GET('/boxes/{id}/events', {
        params: { path: { id }, query: { cursor: value } },
      });
      expectCursorRejected(response, error);
    }
  });
});

describe('cursor key', () => {
  it('survives a restart and differs per data directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'provisions-cursor-key-'));
    const otherDataDir = await mkdtemp(join(tmpdir(), 'provisions-cursor-key-'));
    try {
      // The same organization, box and events exist on both servers, so only the
      // key can tell their cursors apart.
      const first = await startServer({ dataDir, port: 0 });
      const credentials = await createOrganization({ dataDir, name: 'Restarted' });
      const restartedOrganization = await signInOrganizationAt(first.url, credentials);
      const id = await boxWithMessages(3, restartedOrganization);
      const cursor = await firstEventCursor(id, restartedOrganization);
      await first.close();

      const keyFile = join(dataDir, CURSOR_KEY_FILE_NAME);
      expect((await readFile(keyFile)).length).toBe(32);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);

      const restarted = await startServer({ dataDir, port: 0 });
      const afterRestart = await fetch(`${restarted.url}/boxes/${id}/events?cursor=${cursor}`, {
        headers: { authorization: `Bearer ${restartedOrganization.token}` },
      });
      await restarted.close();
      expect(afterRestart.status).toBe(200);

      await rm(otherDataDir, { recursive: true, force: true });
      await copyDatabase(dataDir, otherDataDir);
      const elsewhere = await startServer({ dataDir: otherDataDir, port: 0 });
      const onOtherServer = await fetch(`${elsewhere.url}/boxes/${id}/events?cursor=${cursor}`, {
        headers: { authorization: `Bearer ${restartedOrganization.token}` },
      });
      await elsewhere.close();
      expectCursorRejected(onOtherServer, (await onOtherServer.json()) as Problem);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(otherDataDir, { recursive: true, force: true });
    }
  });
});

/** Gets a token for organization credentials on a server at `url`, with a client that sends it. */
async function signInOrganizationAt(
  url: string,
  credentials: OrganizationCredentials,
): Promise<TestOrganization> {
  const response = await requestOrganizationToken(url, credentials);
  const { access_token } = (await response.json()) as AccessToken;
  return {
    ...credentials,
    token: access_token,
    client: createApiClient({ baseUrl: url, token: access_token }),
  };
}

/** Copies the database files, not the cursor key, into another data directory. */
function copyDatabase(from: string, to: string): Promise<void> {
  return cp(from, to, {
    recursive: true,
    filter: (source) => !source.endsWith(CURSOR_KEY_FILE_NAME),
  });
}
