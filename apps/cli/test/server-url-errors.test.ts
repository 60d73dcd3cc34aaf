import { describe, expect, it } from 'vitest';

import { runCli, UNKNOWN_ORGANIZATION_ID, UNUSED_SERVER } from './support/run-cli.js';

/** A provision public key of the right form: 43 base64url characters. */
const PUBLIC_KEY = 'A'.repeat(43);

/** An invitation link of the right form whose app URL is {@link UNUSED_SERVER}. */
const UNUSED_SERVER_LINK = `${UNUSED_SERVER}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;

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
