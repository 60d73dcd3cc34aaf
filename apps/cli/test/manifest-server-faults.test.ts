import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { runSend } from '../src/commands/send.js';
import { reportError } from '../src/error-report.js';
import type { NodeHttpFetchOptions } from '../src/node-http-fetch.js';
import {
  type Fault,
  type FaultProxy,
  requestKind,
  startFaultProxy,
} from './support/fault-proxy.js';
import { runCli, TEST_KDF_COST } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
/** What the proxy does with each request; each test sets it. */
let chooseFault: (method: string, path: string) => Fault = () => 'pass';

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, (method, path) => chooseFault(method, path));
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-server-faults-'));
  vi.stubEnv('PROVISIONS_CLIENT_SECRET', server.clientSecret);
  vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'server faults passphrase');
  vi.stubEnv('PROVISIONS_KEYSTORE_KDF_COST', TEST_KDF_COST);
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  chooseFault = () => 'pass';
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Sends a manifest of `recipients` new recipients through the proxy, in this process, and
 * returns what the run raised, if anything, and the chunks it wrote to stderr.
 */
async function sendManifest(
  name: string,
  recipients: number,
  options: { concurrency?: number; transport?: NodeHttpFetchOptions } = {},
): Promise<{ failure: unknown; stderr: string[] }> {
  const manifest = join(workDir, `${name}.csv`);
  const rows = Array.from(
    { length: recipients },
    (_, index) => `${name}${index}@example.com,Box,hi`,
  );
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
      keystore: join(workDir, `${name}-keystore.json`),
      manifest,
      ...(options.concurrency === undefined ? {} : { concurrency: String(options.concurrency) }),
    },
    options.transport,
  ).then(
    () => undefined,
    (error: unknown) => error,
  );
  return { failure, stderr };
}

// The runs go in this process, because the request timeout can only be shortened through the
// transport options of the command.
describe('send --manifest when the server stops responding', () => {
  const RECIPIENTS = 60;
  const CONCURRENCY = 8;
  /** Requests the proxy forwards before it stops responding, enough for a few recipients. */
  const REQUESTS_BEFORE_SILENCE = 40;
  const TIMEOUT_MS = 2_000;

  it('stops after one request timeout', { timeout: 60_000 }, async () => {
    let forwarded = 0;
    /** When the proxy stopped responding, in milliseconds since the epoch. */
    let silentSince: number | undefined;
    /** The requests the proxy received after it stopped responding. */
    const unansweredRequests: string[] = [];
    chooseFault = (method, path) => {
      if (forwarded < REQUESTS_BEFORE_SILENCE) {
        forwarded += 1;
        return 'pass';
      }
      silentSince ??= Date.now();
      unansweredRequests.push(`${method} ${path}`);
      return 'hold';
    };

    const { failure, stderr } = await sendManifest('silent', RECIPIENTS, {
      concurrency: CONCURRENCY,
      transport: { timeoutMs: TIMEOUT_MS },
    });
    const stoppedAfterMs = Date.now() - (silentSince ?? Number.NaN);

    expect(reportError(failure).message).toContain(
      `stopped the run: the server at ${new URL(proxy.url).origin} is unreachable (`,
    );
    expect(reportError(failure).message).toMatch(
      /^stopped the run: the server at \S+ is unreachable \(no response within 2 s\): no request has received a response for [12] s; run the same command again to resume once the server is back \(journal .*\)$/,
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

describe('send --manifest when the server asks to wait', () => {
  const RECIPIENTS = 6;
  const STORAGE_FULL = "the server's storage is full, so nothing was saved; retry in 60 seconds";
  const RATE_LIMITED = 'too many requests from this organization';

  it('prints each problem detail once', { timeout: 30_000 }, async () => {
    const counts = new Map<string, number>();
    // 503 with the same detail to the first 3 box creations and the first 2 message posts,
    // and 429 to the third message post, each with `Retry-After: 1`.
    chooseFault = (method, path) => {
      const kind = requestKind(method, path);
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
    };

    const { failure, stderr } = await sendManifest('busy', RECIPIENTS);

    expect(failure).toBeUndefined();
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

describe('send --manifest whose token request waits', () => {
  it('shows one duration in progress and summary', { timeout: 60_000 }, async () => {
    let tokenRequests = 0;
    chooseFault = (method, path) => {
      if (requestKind(method, path) === 'POST /oauth/token') {
        tokenRequests += 1;
        if (tokenRequests === 1) {
          return { status: 503, retryAfter: '2' };
        }
      }
      return 'pass';
    };
    const manifest = join(workDir, 'token-wait.csv');
    await writeFile(manifest, 'email,title,message\ntoken-wait@example.com,Box,hi\n');

    // A child process, so that stderr is not a terminal and the run writes plain progress lines.
    const result = await runCli(
      ['send', '--manifest', manifest, '--keystore', join(workDir, 'token-wait-keystore.json')],
      {
        env: {
          PROVISIONS_SERVER: proxy.url,
          PROVISIONS_ORG_ID: server.organizationId,
          PROVISIONS_CLIENT_SECRET: server.clientSecret,
          PROVISIONS_KEYSTORE_PASSPHRASE: 'server faults passphrase',
        },
      },
    );

    const progress = [...result.stderr.matchAll(/^progress: .*, (\d+\.\d) s$/gm)].at(-1);
    const summary = /^recipients: .* \((\d+\.\d) s\)$/m.exec(result.stderr);
    expect(result.code).toBe(0);
    expect(tokenRequests).toBe(2);
    expect(Number(progress?.[1])).toBeGreaterThanOrEqual(2);
    expect(summary?.[1]).toBe(progress?.[1]);
  });
});
