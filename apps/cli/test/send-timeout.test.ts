import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { runSend } from '../src/commands/send.js';
import { reportError } from '../src/error-report.js';
import { TEST_KDF_COST } from './support/run-cli.js';

let silent: Server;
let serverUrl: string;
let workDir: string;

beforeAll(async () => {
  silent = createServer(() => {
    // Reads the request and never responds.
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-send-timeout-'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

// Runs in this process, because the request timeout can only be shortened through the
// transport options of runSend.
describe('send --to against a server that never responds', () => {
  it('fails after the request timeout', { timeout: 10_000 }, async () => {
    vi.stubEnv('PROVISIONS_CLIENT_SECRET', 'secret');
    vi.stubEnv('PROVISIONS_KEYSTORE_PASSPHRASE', 'send timeout passphrase');
    vi.stubEnv('PROVISIONS_KEYSTORE_KDF_COST', TEST_KDF_COST);

    const failure = await runSend(
      {
        server: serverUrl,
        orgId: '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11',
        keystore: join(workDir, 'keystore.json'),
        to: 'ada@example.com',
        title: 'Box',
        message: ['hello'],
      },
      { timeoutMs: 200 },
    ).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toMatchObject({ code: 'ETIMEDOUT' });
    expect(reportError(failure)).toEqual({
      message:
        'cannot reach the server (connection timed out): check the server URL and that the server is running',
      exitCode: 1,
    });
    expect(await readdir(workDir)).toEqual([]);
  });
});
