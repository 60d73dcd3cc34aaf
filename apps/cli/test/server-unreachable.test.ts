import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  createOrganization,
  DATABASE_FILE_NAME,
  type RunningServer,
  startServer,
} from '@provisions/server';
import Database from 'better-sqlite3';
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
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-cli-unreachable-server-'));
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-unreachable-'));
  server = await startServer({ dataDir, port: 0 });
  const organization = await createOrganization({ dataDir, name: 'Unreachable test' });
  env = {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: organization.id,
    PROVISIONS_CLIENT_SECRET: organization.client_secret,
    PROVISIONS_KEYSTORE_PASSPHRASE: 'unreachable test passphrase',
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

describe('send --manifest when the server stops mid-run', () => {
  it('stops early, then resumes once the server is back', { timeout: 120_000 }, async () => {
    const manifest = join(workDir, 'recipients.csv');
    const journal = `${manifest}.journal`;
    const rows = Array.from({ length: RECIPIENTS }, (_, index) => `p${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, 'keystore.json'),
      '--concurrency',
      '8',
    ];
    const port = new URL(env.PROVISIONS_SERVER as string).port;

    const cli = spawnCli([...args, '--json'], env);
    started.push(cli);
    await waitForLines(journal, 40);
    await server?.close();
    server = undefined;
    const stoppedAt = Date.now();
    const code = await cli.exited;
    const seconds = (Date.now() - stoppedAt) / 1000;

    const stderr = cli.stderr().trimEnd().split('\n');
    const output = JSON.parse(cli.stdout()) as {
      summary: { done: number; failed: number; skipped: number };
      recipients: { status: string }[];
    };
    expect(code).toBe(1);
    // The run stops once no request has received a response for 30 s, after the retries of
    // the recipients in flight (at most about 8 s).
    expect(seconds).toBeGreaterThanOrEqual(30);
    expect(seconds).toBeLessThan(50);
    expect(output.summary.skipped).toBeGreaterThan(RECIPIENTS / 2);
    expect(output.summary.done + output.summary.failed + output.summary.skipped).toBe(RECIPIENTS);
    expect(output.recipients.filter((item) => item.status === 'skipped')).toHaveLength(
      output.summary.skipped,
    );
    expect(stderr).toContainEqual(
      expect.stringMatching(
        new RegExp(`^recipients: \\d+ of ${RECIPIENTS} done, \\d+ failed, \\d+ skipped`),
      ),
    );
    expect(stderr.at(-1)).toMatch(
      /^provisions: stopped the run: the server at http:\/\/127\.0\.0\.1:\d+ is unreachable \(connection refused\): no request has received a response for (3\d|4\d) s; run the same command again to resume once the server is back \(journal .*\)$/,
    );

    server = await startServer({ dataDir, port: Number(port) });
    const resumed = spawnCli(args, env);
    started.push(resumed);

    expect(await resumed.exited).toBe(0);
    expect(resumed.stderr()).toContain(`recipients: ${RECIPIENTS} of ${RECIPIENTS} done, 0 failed`);
    const database = new Database(join(dataDir, DATABASE_FILE_NAME), { readonly: true });
    try {
      const boxes = database.prepare('SELECT count(*) AS count FROM boxes').get() as {
        count: number;
      };
      expect(boxes.count).toBe(RECIPIENTS);
    } finally {
      database.close();
    }
  });
});

describe('send --manifest when the server restarts', () => {
  it('sends every recipient across a 2 s outage', { timeout: 120_000 }, async () => {
    const manifest = join(workDir, 'restart.csv');
    const rows = Array.from({ length: RECIPIENTS }, (_, index) => `r${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const port = Number(new URL(env.PROVISIONS_SERVER as string).port);

    // The default concurrency, 32, keeps many recipients in flight across the outage.
    const cli = spawnCli(
      [
        'send',
        '--manifest',
        manifest,
        '--keystore',
        join(workDir, 'restart-keystore.json'),
        '--json',
      ],
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
