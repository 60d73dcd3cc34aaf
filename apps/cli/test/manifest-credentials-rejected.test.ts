import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DATABASE_FILE_NAME } from '@provisions/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type FaultProxy, requestKind, startFaultProxy } from './support/fault-proxy.js';
import { writeManifest } from './support/manifest-file.js';
import { runCli } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENTS = 20;

/** Requests the proxy sends to server A before it sends the rest to server B. */
const REQUESTS_TO_A = 12;

/** Server A contains the organization. Server B has its own data directory, without it. */
let serverA: TestServer;
let serverB: TestServer;
let proxy: FaultProxy;
let workDir: string;
/** Whether the proxy sends every request to server A, as once the URL is fixed. */
let fixed = false;
/** The server and kind of each request the proxy forwarded, such as `B POST /oauth/token`. */
const forwarded: string[] = [];

beforeAll(async () => {
  serverA = await startTestServer();
  serverB = await startTestServer();
  let target = serverA.url;
  proxy = await startFaultProxy(
    () => target,
    (method, path) => {
      const toA = fixed || forwarded.length < REQUESTS_TO_A;
      target = toA ? serverA.url : serverB.url;
      forwarded.push(`${toA ? 'A' : 'B'} ${requestKind(method, path)}`);
      return 'pass';
    },
  );
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-credentials-rejected-'));
});

afterAll(async () => {
  await proxy.close();
  await serverA.close();
  await serverB.close();
  await rm(workDir, { recursive: true, force: true });
});

function countBoxes(server: TestServer): number {
  const database = new Database(join(server.dataDir, DATABASE_FILE_NAME), { readonly: true });
  try {
    return (database.prepare('SELECT count(*) AS count FROM boxes').get() as { count: number })
      .count;
  } finally {
    database.close();
  }
}

describe('send --manifest when another server responds mid-run', () => {
  it('stops, then resumes against the first', { timeout: 60_000 }, async () => {
    const manifest = await writeManifest(workDir, 'moved', RECIPIENTS);
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, 'keystore.json'),
      '--concurrency',
      '2',
    ];
    const env = {
      ...serverEnv(serverA, 'credentials rejected passphrase'),
      PROVISIONS_SERVER: proxy.url,
    };

    const stopped = await runCli([...args, '--json'], { env });

    const output = JSON.parse(stopped.stdout) as {
      summary: { done: number; failed: number; skipped: number };
    };
    const stderr = stopped.stderr.trimEnd().split('\n');
    const tokenRequestsToB = forwarded.filter((kind) => kind === 'B POST /oauth/token').length;
    expect(stopped.code).toBe(1);
    expect(tokenRequestsToB).toBeGreaterThan(0);
    expect(tokenRequestsToB).toBeLessThanOrEqual(2);
    expect(output.summary.done).toBeGreaterThan(0);
    // At most the recipients in flight, one per worker, fail before the run stops.
    expect(output.summary.failed).toBeLessThanOrEqual(2);
    expect(output.summary.skipped).toBeGreaterThan(RECIPIENTS / 2);
    expect(output.summary.done + output.summary.failed + output.summary.skipped).toBe(RECIPIENTS);
    expect(stderr.filter((line) => line.startsWith('provisions: '))).toHaveLength(1);
    expect(stderr.at(-1)).toBe(
      `provisions: stopped the run: the server ${proxy.url} rejected the organization's credentials (401 invalid_client) when the run renewed its token, although it accepted them at the start, as when another server responds at that URL; once the server or the credentials are fixed, run the same command again to resume (journal ${manifest}.journal)`,
    );

    fixed = true;
    const resumed = await runCli(args, { env });

    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`recipients: ${RECIPIENTS} of ${RECIPIENTS} done, 0 failed`);
    expect(countBoxes(serverA)).toBe(RECIPIENTS);
    expect(countBoxes(serverB)).toBe(0);
  });
});
