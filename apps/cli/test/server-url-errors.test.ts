import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, UNKNOWN_ORGANIZATION_ID, UNUSED_SERVER } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** A provision public key of the right form: 43 base64url characters. */
const PUBLIC_KEY = 'A'.repeat(43);

/** An invitation link of the right form whose app URL is {@link UNUSED_SERVER}. */
const UNUSED_SERVER_LINK = `${UNUSED_SERVER}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

/** Runs `provisions revoke PUBLIC_KEY` with `args` against the test server's organization. */
function revoke(args: string[], clientSecret = server.clientSecret) {
  return runCli(['revoke', PUBLIC_KEY, '--org-id', server.organizationId, ...args], {
    env: { PROVISIONS_CLIENT_SECRET: clientSecret },
  });
}

describe('an unreachable server', () => {
  it('names the URL given with --server', async () => {
    const result = await runCli(
      ['revoke', PUBLIC_KEY, '--server', UNUSED_SERVER, '--org-id', UNKNOWN_ORGANIZATION_ID],
      { env: { PROVISIONS_CLIENT_SECRET: 'secret' } },
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot reach the server at ${UNUSED_SERVER} (connection refused): check the server URL given with --server and that the server is running\n`,
    );
  });

  it('names the URL in PROVISIONS_SERVER', async () => {
    const result = await runCli(['revoke', PUBLIC_KEY], {
      env: {
        PROVISIONS_SERVER: UNUSED_SERVER,
        PROVISIONS_ORG_ID: UNKNOWN_ORGANIZATION_ID,
        PROVISIONS_CLIENT_SECRET: 'secret',
      },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot reach the server at ${UNUSED_SERVER} (connection refused): check the server URL in the PROVISIONS_SERVER environment variable and that the server is running\n`,
    );
  });

  it('names the invitation link for redeem', async () => {
    const result = await runCli([
      'redeem',
      UNUSED_SERVER_LINK,
      '--email',
      'grace@example.org',
      '--code',
      '123456',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot reach the server at ${UNUSED_SERVER} (connection refused): this server URL comes from the invitation link: check that the server is running, or give the API server URL with --server\n`,
    );
  });

  it('names --server for redeem when it is given', async () => {
    const server = 'http://127.0.0.1:7';
    const result = await runCli([
      'redeem',
      UNUSED_SERVER_LINK,
      '--email',
      'grace@example.org',
      '--code',
      '123456',
      '--server',
      server,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot reach the server at ${server} (connection refused): check the server URL given with --server and that the server is running\n`,
    );
  });
});

describe('an error response', () => {
  it('hints at the server URL for an unserved path', async () => {
    const base = `${server.url}/api`;

    const result = await revoke(['--server', base]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server rejected POST ${base}/oauth/token: HTTP 404 Not found: no operation matches POST on this path; the server URL given with --server may be wrong, because the server has no operation at this path\n`,
    );
  });

  it('names a 404 request without the hint', async () => {
    const result = await revoke(['--server', server.url]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^provisions: the server rejected DELETE ${server.url}/\\S+: HTTP 404 `),
    );
    expect(result.stderr).not.toContain('may be wrong');
  });

  it('names the CLI inputs for rejected credentials', async () => {
    const result = await revoke(['--server', server.url], 'not-the-secret');

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server at ${server.url} rejected the organization's credentials (HTTP 401 invalid_client): check the organization id (--org-id or PROVISIONS_ORG_ID) and the client secret (PROVISIONS_CLIENT_SECRET)\n`,
    );
  });
});
