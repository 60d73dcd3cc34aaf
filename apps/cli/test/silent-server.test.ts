import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { runSend } from '../src/commands/send.js';
import { reportError } from '../src/error-report.js';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.js';
import { TEST_KDF_COST } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENTS = 60;
const CONCURRENCY = 8;
/** Requests the proxy forwards before it stops responding, enough for a few recipients. */
const REQUESTS_BEFORE_SILENCE = 40;
const TIMEOUT_MS = 2_000;

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
let forwarded = 0;
/** When the proxy stopped responding, in milliseconds since the epoch. */
let silentSince: number | undefined;
/** The requests the proxy received after it stopped responding. */
const unansweredRequests: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, (method, path) => {
    if (forwarded < REQUESTS_BEFORE_SILENCE) {
      forwarded += 1;
      return 'pass';
    }
    silentSince ??= Date.now();
    unansweredRequests.push(`${method} ${path}`);
    return 'hold';
  });
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-silent-'));
  vi.stubEnv('PROVISIONS_CLIENT_SECRET', server.clientSecret);
  vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'silent server passphrase');
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

// The run goes in this process, because the request timeout can only be shortened through the
// transport options of the command.
describe('send --manifest when the server stops responding', () => {
  it('stops after one request timeout', { timeout: 60_000 }, async () => {
    const manifest = join(workDir, 'recipients.csv');
    const rows = Array.from({ length: RECIPIENTS }, (_, index) => `s${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });

    const failure = await runSend(
      {
        server: proxy.url,
        orgId: server.organizationId,
        keystore: join(workDir, 'keystore.json'),
        manifest,
        concurrency: String(CONCURRENCY),
      },
      { timeoutMs: TIMEOUT_MS },
    ).catch((error: unknown) => error);
    const stoppedAfterMs = Date.now() - (silentSince ?? Number.NaN);

    expect(reportError(failure).message).toMatch(
      /^stopped the run: the server is unreachable \(no response within 2 s\): no request has received a response for [12] s; run the same command again to resume once the server is back \(journal .*\)$/,
    );
    // Each worker waits on one request when the server goes silent, and takes no new
    // recipient once that request timed out.
    expect(unansweredRequests.length).toBeGreaterThan(0);
    expect(unansweredRequests.length).toBeLessThanOrEqual(CONCURRENCY);
    expect(stoppedAfterMs).toBeLessThan(TIMEOUT_MS * 1.5);
    const summary = stderr.find((line) => line.startsWith('recipients: '));
    const counts = /(\d+) of \d+ done, (\d+) failed, (\d+) skipped/.exec(summary ?? '');
    expect(counts).not.toBeNull();
    const [, done, failed, skipped] = (counts as RegExpExecArray).map(Number);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(CONCURRENCY);
    expect((done as number) + (failed as number) + (skipped as number)).toBe(RECIPIENTS);
  });
});
