import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { runSend } from '../src/commands/send.js';
import { type FaultProxy, requestKind, startFaultProxy } from './support/fault-proxy.js';
import { writeManifest } from './support/manifest-file.js';
import { TEST_KDF_COST } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** More than the organization token lifetime of the server (1 hour), in milliseconds. */
const PAST_TOKEN_LIFETIME_MS = 2 * 60 * 60 * 1000;

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
/** Added to the server's clock; moving it forward expires the tokens the server issued. */
let serverClockOffsetMs = 0;
/** The kinds of request the proxy forwarded, such as `POST /oauth/token`, in order. */
const forwarded: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ now: () => new Date(Date.now() + serverClockOffsetMs) });
  proxy = await startFaultProxy(server.url, (method, path) => {
    const kind = requestKind(method, path);
    forwarded.push(kind);
    // The server's clock jumps ahead once the run is under way, as when it runs ahead of the
    // client's clock or was restored from a backup without the token.
    if (kind === 'POST /organizations/{oid}/boxes' && serverClockOffsetMs === 0) {
      const creations = forwarded.filter((seen) => seen === kind).length;
      if (creations === 3) {
        serverClockOffsetMs = PAST_TOKEN_LIFETIME_MS;
      }
    }
    return 'pass';
  });
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-token-expiry-'));
  vi.stubEnv('PROVISIONS_CLIENT_SECRET', server.clientSecret);
  vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'token expiry passphrase');
  vi.stubEnv('PROVISIONS_KEYSTORE_KDF_COST', TEST_KDF_COST);
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest when the server rejects the token', () => {
  it('renews the token and sends to everyone', { timeout: 30_000 }, async () => {
    const RECIPIENTS = 12;
    const manifest = await writeManifest(workDir, 'expiry', RECIPIENTS);
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });

    const failure = await runSend({
      server: proxy.url,
      orgId: server.organizationId,
      keystore: join(workDir, 'keystore.json'),
      manifest,
      concurrency: '4',
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeUndefined();
    expect(process.exitCode).toBeUndefined();
    expect(serverClockOffsetMs).toBe(PAST_TOKEN_LIFETIME_MS);
    expect(stderr).toContainEqual(
      expect.stringContaining(`recipients: ${RECIPIENTS} of ${RECIPIENTS} done, 0 failed`),
    );
    expect(forwarded.filter((kind) => kind === 'POST /oauth/token')).toHaveLength(2);
  });
});
