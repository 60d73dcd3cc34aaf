import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Fault, type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { runCli, sendArgs } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
let env: Record<string, string>;
/** Paths of the token requests that reached the proxy. */
const tokenRequests: string[] = [];

/** Rejects the first token request with 429 and Retry-After: 1, like the server's rate limit. */
function limitFirstToken(method: string, path: string): Fault {
  if (method !== 'POST' || path !== '/oauth/token') {
    return 'pass';
  }
  tokenRequests.push(path);
  if (tokenRequests.length === 1) {
    return { status: 429, detail: 'too many token requests', retryAfter: '1' };
  }
  return 'pass';
}

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, limitFirstToken);
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-token-retry-'));
  env = serverEnv(server, 'token retry passphrase');
});

afterAll(async () => {
  await proxy.close();
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('token request', () => {
  it('revoke waits for Retry-After after 429', async () => {
    const keystore = join(workDir, 'keystore.json');
    const sent = await runCli([...sendArgs(keystore, 'ada@example.com', 'Box', 'hi'), '--json'], {
      env,
    });
    expect(sent.code).toBe(0);
    const publicKey = JSON.parse(sent.stdout).recipients[0].provision_public_key as string;

    // Without --keystore, because the keystore is bound to the server's own URL.
    const started = Date.now();
    const revoked = await runCli(['revoke', publicKey, '--json'], {
      env: { ...env, PROVISIONS_SERVER: proxy.url },
    });
    const elapsedMs = Date.now() - started;

    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ revoked: publicKey });
    expect(tokenRequests).toHaveLength(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(revoked.stderr.split('\n')[0]).toBe(
      'provisions: the server responded with 429: too many token requests; retrying',
    );
  });
});
