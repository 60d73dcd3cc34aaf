import { unwrap } from '@provisions/api';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { createNodeHttpFetch } from '../src/node-http-fetch.js';
import { withOrganization } from '../src/organization-session.js';
import { signInThroughOutbox } from '../src/outbox-sign-in.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

// The CLI's transport limits each request on its own, so the time limit of the API client,
// which @provisions/api builds on AbortSignal.timeout, must stay off.
describe('API clients of the CLI', () => {
  it('leave the organization time limit to the transport', async () => {
    const timeout = vi.spyOn(AbortSignal, 'timeout');
    const target = {
      server: server.url,
      organizationId: server.organizationId,
      clientSecret: server.clientSecret,
    };

    const lookup = await withOrganization(target, {}, async (organization) =>
      unwrap(
        await organization.client.GET('/identities/public-keys', {
          params: { query: { identifier: 'ada@example.com' } },
        }),
      ),
    );

    expect(lookup.identity_public_key).toBeNull();
    expect(timeout).not.toHaveBeenCalled();
  });

  it('leave the sign-in time limit to the transport', async () => {
    const timeout = vi.spyOn(AbortSignal, 'timeout');
    const transport = createNodeHttpFetch();
    try {
      const { client } = await signInThroughOutbox(
        server.url,
        server.outboxPath,
        'grace@example.com',
        transport.fetch,
      );
      const identity = unwrap(await client.GET('/identities/me'));

      expect(identity.email).toBe('grace@example.com');
      expect(timeout).not.toHaveBeenCalled();
    } finally {
      transport.close();
    }
  });
});
