import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { runKeystoreRevoke } from '../src/commands/keystore.js';
import { runRedeem } from '../src/commands/redeem.js';
import { runRevoke } from '../src/commands/revoke.js';
import { runSend } from '../src/commands/send.js';
import { reportError } from '../src/error-report.js';
import { openKeystore } from '../src/keystore-access.js';
import { TEST_KDF_COST } from './support/run-cli.js';

const ORGANIZATION_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const PUBLIC_KEY = 'A'.repeat(43);
const TIMEOUT_MS = 200;
const TIMEOUT_REPORT = {
  message:
    'the server did not respond within 0.2 s: check that it is running and not overloaded, then run the command again',
  exitCode: 1,
};

let silent: Server;
let serverUrl: string;
let workDir: string;
/** The paths of the requests the silent server received. */
let received: string[] = [];

beforeAll(async () => {
  silent = createServer((request) => {
    // Reads the request and never responds.
    received.push(request.url ?? '');
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  silent.closeAllConnections();
  received = [];
  await rm(workDir, { recursive: true, force: true });
});

afterAll(async () => {
  await new Promise((resolve) => silent.close(resolve));
});

async function prepare(): Promise<void> {
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-request-timeout-'));
  vi.stubEnv('PROVISIONS_CLIENT_SECRET', 'secret');
  vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'request timeout passphrase');
  vi.stubEnv('PROVISIONS_KEYSTORE_KDF_COST', TEST_KDF_COST);
}

// These tests run in this process, because the request timeout can only be shortened
// through the transport options of each command.
describe('commands against a server that never responds', () => {
  it('send --to fails after the request timeout', { timeout: 10_000 }, async () => {
    await prepare();

    const failure = await runSend(
      {
        server: serverUrl,
        orgId: ORGANIZATION_ID,
        keystore: join(workDir, 'keystore.json'),
        to: 'ada@example.com',
        title: 'Box',
        message: ['hello'],
      },
      { timeoutMs: TIMEOUT_MS },
    ).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toMatchObject({ code: 'ETIMEDOUT' });
    expect(reportError(failure)).toEqual(TIMEOUT_REPORT);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('send --manifest shows progress, then fails without a retry', {
    timeout: 10_000,
  }, async () => {
    await prepare();
    const manifest = join(workDir, 'recipients.csv');
    await writeFile(manifest, 'email,title,message\nada@example.com,Box,hello\n');
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });

    const failure = await runSend(
      {
        server: serverUrl,
        orgId: ORGANIZATION_ID,
        keystore: join(workDir, 'keystore.json'),
        manifest,
      },
      { timeoutMs: TIMEOUT_MS },
    ).catch((error: unknown) => error);

    expect(reportError(failure)).toEqual(TIMEOUT_REPORT);
    expect(received).toEqual(['/oauth/token']);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^progress: 0\/1 recipients, 0 failed, \d+\.\d s\n$/);
    expect(await readdir(workDir)).toEqual(['recipients.csv']);
  });

  it('revoke fails after the request timeout', { timeout: 10_000 }, async () => {
    await prepare();

    const failure = await runRevoke(
      PUBLIC_KEY,
      { server: serverUrl, orgId: ORGANIZATION_ID },
      { timeoutMs: TIMEOUT_MS },
    ).catch((error: unknown) => error);

    expect(reportError(failure)).toEqual(TIMEOUT_REPORT);
    expect(received).toEqual(['/oauth/token']);
  });

  it('keystore revoke fails and keeps the entry', { timeout: 10_000 }, async () => {
    await prepare();
    const keystorePath = join(workDir, 'keystore.json');
    const options = { server: serverUrl, orgId: ORGANIZATION_ID, keystore: keystorePath };
    const keystore = await openKeystore({
      path: keystorePath,
      passphrase: 'request timeout passphrase',
      organizationId: ORGANIZATION_ID,
      serverUrl,
    });
    await keystore.put('ada@example.com', {
      public_key: PUBLIC_KEY,
      user_key_share: Buffer.alloc(33, 7).toString('base64url'),
      created_at: new Date().toISOString(),
    });
    await keystore.close();

    const failure = await runKeystoreRevoke('ada@example.com', options, {
      timeoutMs: TIMEOUT_MS,
    }).catch((error: unknown) => error);

    expect(reportError(failure)).toEqual(TIMEOUT_REPORT);
    expect(received).toEqual(['/oauth/token']);
    const reopened = await openKeystore({
      path: keystorePath,
      passphrase: 'request timeout passphrase',
      organizationId: ORGANIZATION_ID,
      serverUrl,
    });
    try {
      expect((await reopened.get('ada@example.com'))?.public_key).toBe(PUBLIC_KEY);
    } finally {
      await reopened.close();
    }
  });

  it('redeem fails after the request timeout', { timeout: 10_000 }, async () => {
    await prepare();
    const link = `${serverUrl}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;

    const failure = await runRedeem(
      link,
      { email: 'grace@example.org', code: '123456' },
      { timeoutMs: TIMEOUT_MS },
    ).catch((error: unknown) => error);

    expect(reportError(failure)).toEqual(TIMEOUT_REPORT);
    expect(received).toHaveLength(1);
  });
});
