import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { runSend } from '../src/commands/send.js';
import { type Fault, type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { TEST_KDF_COST } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENTS = 6;
const STORAGE_FULL = "the server's storage is full, so nothing was saved; retry in 60 seconds";
const RATE_LIMITED = 'too many requests from this organization';

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
const counts = new Map<string, number>();

/**
 * Returns 503 with the same detail to the first 3 box creations and the first 2 message posts,
 * and 429 to the third message post, each with `Retry-After: 1`.
 */
function chooseFault(method: string, path: string): Fault {
  const kind = `${method} ${path
    .replace(/^\/organizations\/[^/]+\/boxes$/, '/organizations/{oid}/boxes')
    .replace(/^\/boxes\/[^/]+\/events$/, '/boxes/{id}/events')}`;
  const seen = (counts.get(kind) ?? 0) + 1;
  counts.set(kind, seen);

  if (kind === 'POST /organizations/{oid}/boxes' && seen <= 3) {
    return { status: 503, detail: STORAGE_FULL, retryAfter: '1' };
  }
  if (kind === 'POST /boxes/{id}/events' && seen <= 2) {
    return { status: 503, detail: STORAGE_FULL, retryAfter: '1' };
  }
  if (kind === 'POST /boxes/{id}/events' && seen === 3) {
    return { status: 429, detail: RATE_LIMITED, retryAfter: '1' };
  }
  return 'pass';
}

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, chooseFault);
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-busy-'));
  vi.stubEnv('PROVISIONS_CLIENT_SECRET', server.clientSecret);
  vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'busy server passphrase');
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

describe('send --manifest when the server asks to wait', () => {
  it('prints each problem detail once', { timeout: 30_000 }, async () => {
    const manifest = join(workDir, 'recipients.csv');
    const rows = Array.from({ length: RECIPIENTS }, (_, index) => `b${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });

    await runSend({
      server: proxy.url,
      orgId: server.organizationId,
      keystore: join(workDir, 'keystore.json'),
      manifest,
    });

    const notices = stderr.filter((line) => line.includes('the server responded with'));
    expect(notices).toEqual([
      `provisions: the server responded with 503: ${STORAGE_FULL}; retrying\n`,
      `provisions: the server responded with 429: ${RATE_LIMITED}; retrying\n`,
    ]);
    expect(counts.get('POST /organizations/{oid}/boxes')).toBeGreaterThan(RECIPIENTS);
    expect(counts.get('POST /boxes/{id}/events')).toBeGreaterThan(RECIPIENTS);
    expect(stderr).toContainEqual(
      expect.stringContaining(`recipients: ${RECIPIENTS} of ${RECIPIENTS} done, 0 failed`),
    );
  });
});
