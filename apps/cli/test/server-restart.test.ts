import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createOrganization, type RunningServer, startServer } from '@provisions/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { countLines, type SpawnedCli, spawnCli } from './support/spawn-cli.js';

const RECIPIENTS = 300;
const OUTAGE_MS = 2_000;

let dataDir: string;
let workDir: string;
let server: RunningServer | undefined;
let env: Record<string, string>;
const started: SpawnedCli[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-cli-restart-server-'));
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-restart-'));
  server = await startServer({ dataDir, port: 0 });
  const organization = await createOrganization({ dataDir, name: 'Restart test' });
  env = {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: organization.id,
    PROVISIONS_CLIENT_SECRET: organization.client_secret,
    PROVISIONS_KEYSTORE_PASSPHRASE: 'restart test passphrase',
  };
});

afterAll(async () => {
  for (const cli of started) {
    cli.child.kill('SIGKILL');
  }
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
});

async function waitForLines(path: string, lines: number): Promise<void> {
  while ((await countLines(path)) < lines) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('send --manifest when the server restarts', () => {
  it('sends every recipient across a 2 s outage', { timeout: 120_000 }, async () => {
    const manifest = join(workDir, 'recipients.csv');
    const rows = Array.from({ length: RECIPIENTS }, (_, index) => `p${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const port = Number(new URL(env.PROVISIONS_SERVER as string).port);

    // The default concurrency, 32, keeps many recipients in flight across the outage.
    const cli = spawnCli(
      ['send', '--manifest', manifest, '--keystore', join(workDir, 'keystore.json'), '--json'],
      env,
    );
    started.push(cli);
    await waitForLines(`${manifest}.journal`, 40);
    await server?.close();
    server = undefined;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    server = await startServer({ dataDir, port });
    const code = await cli.exited;

    const output = JSON.parse(cli.stdout()) as {
      summary: { done: number; failed: number; skipped: number; retries: number };
    };
    expect(cli.stderr()).not.toContain('stopped the run');
    expect(code).toBe(0);
    expect(output.summary.done).toBe(RECIPIENTS);
    expect(output.summary.failed).toBe(0);
    expect(output.summary.skipped).toBe(0);
    expect(output.summary.retries).toBeGreaterThan(0);
  });
});
