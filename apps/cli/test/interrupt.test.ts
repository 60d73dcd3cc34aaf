import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { countLines, spawnCli } from './support/spawn-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-interrupt-'));
  env = serverEnv(server, 'interrupt test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest interrupted by a signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('says how to resume after %s', async (signal, exitCode) => {
    const manifest = join(workDir, `interrupted-${signal}.csv`);
    const journal = `${manifest}.journal`;
    const rows = Array.from({ length: 200 }, (_, index) => `${signal}-${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, `interrupted-${signal}.json`),
      '--concurrency',
      '2',
    ];

    const cli = spawnCli(args, env);
    while ((await countLines(journal)) < 10) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    cli.child.kill(signal);
    const code = await cli.exited;

    expect(code).toBe(exitCode);
    expect(cli.stderr().trimEnd().split('\n').at(-1)).toBe(
      `provisions: interrupted: the run stopped; run the same command again to resume (journal ${journal})`,
    );

    const resumed = spawnCli(args, env);
    expect(await resumed.exited).toBe(0);
    expect(resumed.stderr()).toContain('recipients: 200 of 200 done, 0 failed');
  });
});
