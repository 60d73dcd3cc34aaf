import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ApiClient, createApiClient, normalizeEmail } from '@provisions/api';
import {
  connectOrganization,
  type OrganizationConnection,
  requestEmailCode,
  signIn,
} from '@provisions/core';
import { type Clock, createOrganization, OUTBOX_FILE_NAME, startServer } from '@provisions/server';
import { afterAll, beforeAll } from 'vitest';

/** A real provisions server on a temporary data directory, with one organization. */
export interface TestServer {
  url: string;
  dataDir: string;
  organizationId: string;
  clientSecret: string;
  /** Connects as the organization; pass `fetch` to watch or alter requests. */
  connect(fetch?: (request: Request) => Promise<Response>): Promise<OrganizationConnection>;
  /**
   * Signs a person in with the code the server wrote to its outbox; pass `fetch`
   * to watch or alter the requests of the returned client.
   */
  signInAs(email: string, fetch?: (request: Request) => Promise<Response>): Promise<ApiClient>;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1, port 0, in a new temporary directory. `now` replaces the
 * server's clock, for tests that expire tokens.
 */
export async function startTestServer(options: { now?: Clock } = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'provisions-core-'));
  const server = await startServer({ dataDir, port: 0, ...options });
  const organization = await createOrganization({ dataDir, name: 'Test organization' });

  return {
    url: server.url,
    dataDir,
    organizationId: organization.id,
    clientSecret: organization.client_secret,
    connect: (fetch) =>
      connectOrganization({
        baseUrl: server.url,
        clientId: organization.id,
        clientSecret: organization.client_secret,
        fetch,
      }),
    signInAs: (email, fetch) => signInThroughOutbox(server.url, dataDir, email, fetch),
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The server and organization connection that {@link useTestServer} sets up for a test file. */
export interface TestServerFixture {
  server: TestServer;
  organization: OrganizationConnection;
}

/**
 * Starts a {@link TestServer} and connects as its organization before the tests of the
 * calling file, and closes the server after them. The fields are set once `beforeAll`
 * has run.
 */
export function useTestServer(): TestServerFixture {
  const fixture = {} as TestServerFixture;
  beforeAll(async () => {
    fixture.server = await startTestServer();
    fixture.organization = await fixture.server.connect();
  });
  afterAll(async () => {
    await fixture.server?.close();
  });
  return fixture;
}

async function signInThroughOutbox(
  baseUrl: string,
  dataDir: string,
  email: string,
  fetch?: (request: Request) => Promise<Response>,
): Promise<ApiClient> {
  let token: string | undefined;
  const client = createApiClient({ baseUrl, token: () => token, fetch });

  await requestEmailCode(client, email);
  const code = await newestCode(join(dataDir, OUTBOX_FILE_NAME), email);
  token = await signIn(client, email, code);

  return client;
}

async function newestCode(outboxPath: string, email: string): Promise<string> {
  const lines = (await readFile(outboxPath, 'utf8')).split('\n').filter((line) => line !== '');
  const messages = lines.map((line) => JSON.parse(line) as { to: string; code: string });
  const newest = messages.filter((message) => message.to === normalizeEmail(email)).at(-1);
  if (newest === undefined) {
    throw new Error(`no sign-in code for ${email} in ${outboxPath}`);
  }

  return newest.code;
}
