import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Clock, createOrganization, OUTBOX_FILE_NAME, startServer } from '@provisions/server';

/** A real provisions server on a temporary data directory, with one organization. */
export interface TestServer {
  url: string;
  dataDir: string;
  outboxPath: string;
  organizationId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1, port 0, in a new temporary directory.
 * `signInRequestsPerMinute` raises the server's per-address limit for tests
 * that sign many people in, and `now` replaces the server's clock for tests
 * that expire tokens.
 */
export async function startTestServer(
  options: { signInRequestsPerMinute?: number; now?: Clock } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'provisions-cli-'));
  const server = await startServer({ dataDir, port: 0, ...options });
  const organization = await createOrganization({ dataDir, name: 'CLI test organization' });

  return {
    url: server.url,
    dataDir,
    outboxPath: join(dataDir, OUTBOX_FILE_NAME),
    organizationId: organization.id,
    clientSecret: organization.client_secret,
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Returns the environment variables that point the CLI at `server` and its organization, with
 * `passphrase` as the keystore passphrase.
 */
export function serverEnv(server: TestServer, passphrase: string): Record<string, string> {
  return {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: server.organizationId,
    PROVISIONS_CLIENT_SECRET: server.clientSecret,
    PROVISIONS_KEYSTORE_PASSPHRASE: passphrase,
  };
}
