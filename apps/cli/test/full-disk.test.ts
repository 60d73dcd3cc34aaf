import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CliResult, runCli, sendArgs } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Makes writes to the files that FULL_DISK_PATH matches fail with ENOSPC.
const FULL_DISK = fileURLToPath(new URL('./support/full-disk.mjs', import.meta.url));

let server: TestServer;
let workDir: string;
let organizationEnv: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-full-disk-'));
  organizationEnv = {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: server.organizationId,
    PROVISIONS_CLIENT_SECRET: server.clientSecret,
    PROVISIONS_KEYSTORE_PASSPHRASE: 'full disk test passphrase',
  };
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Writes a CSV manifest of `count` recipients, one box each, and returns its path. */
async function writeManifest(name: string, count: number): Promise<string> {
  const path = join(workDir, `${name}.csv`);
  const rows = Array.from({ length: count }, (_, index) => `${name}${index}@example.com,Box,hi`);
  await writeFile(path, `email,title,message\n${rows.join('\n')}\n`);
  return path;
}

/**
 * Runs the CLI with writes to the files whose real path matches `path` failing after `after`
 * writes. A pattern for the keystore must leave out its lock file.
 */
function runOnFullDisk(args: string[], path: string, after: number): Promise<CliResult> {
  return runCli(args, {
    env: {
      ...organizationEnv,
      NODE_OPTIONS: `--import ${FULL_DISK}`,
      FULL_DISK_PATH: path,
      FULL_DISK_AFTER: String(after),
    },
  });
}

/** Checks that stderr ends with `line` after the run's summary, with no other error line. */
function expectSummaryThenError(result: CliResult, recipients: number, line: string): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toContainEqual(
    expect.stringMatching(new RegExp(`^recipients: \\d+ of ${recipients} done, \\d+ failed`)),
  );
  expect(lines.at(-1)).toBe(line);
  expect(lines.filter((text) => text.startsWith('provisions:'))).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('send --manifest on a full disk', () => {
  it('names the journal after the summary, and resumes', async () => {
    const manifest = await writeManifest('journal', 20);
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, 'journal-keystore.json'),
      '--concurrency',
      '2',
    ];

    const full = await runOnFullDisk(args, '\\.journal$', 6);

    expect(full.code).toBe(1);
    expectSummaryThenError(
      full,
      20,
      `provisions: cannot write the journal ${manifest}.journal (ENOSPC): free space on its disk, then run the same command again to resume`,
    );

    const resumed = await runCli(args, { env: organizationEnv });

    expect(resumed.stderr).toMatch(/^recipients: 20 of 20 done, 0 failed/m);
    expect(resumed.code).toBe(0);
  });

  it('names the keystore after the summary', async () => {
    const keystore = join(workDir, 'full-keystore.json');
    const created = await runCli(sendArgs(keystore, 'first@example.com', 'Box', 'hi'), {
      env: organizationEnv,
    });
    expect(created.code).toBe(0);
    const manifest = await writeManifest('keystore', 10);

    const full = await runOnFullDisk(
      ['send', '--manifest', manifest, '--keystore', keystore, '--concurrency', '2'],
      'full-keystore\\.json(\\.[0-9a-f]+\\.tmp)?$',
      2,
    );

    expect(full.code).toBe(1);
    expectSummaryThenError(
      full,
      10,
      `provisions: cannot write keystore ${keystore}: ENOSPC: free space on its disk, then run the same command again`,
    );
  });

  it('names the links file after the summary', async () => {
    const manifest = await writeManifest('links', 3);
    const linksOut = join(workDir, 'links-out.csv');

    const full = await runOnFullDisk(
      [
        'send',
        '--manifest',
        manifest,
        '--keystore',
        join(workDir, 'links-keystore.json'),
        '--links-out',
        linksOut,
      ],
      'links-out\\.csv',
      0,
    );

    expect(full.code).toBe(1);
    expectSummaryThenError(
      full,
      3,
      `provisions: cannot write the links file (--links-out) ${linksOut} (ENOSPC): free space on its disk, then run the same command again, which writes it; the links are in the keystore, and "provisions keystore export --out FILE" writes them too`,
    );
  });
});

describe('send --to on a full disk', () => {
  it('names the keystore', async () => {
    const keystore = join(workDir, 'single-keystore.json');

    const full = await runOnFullDisk(
      sendArgs(keystore, 'single@example.com', 'Box', 'hi'),
      'single-keystore\\.json(\\.[0-9a-f]+\\.tmp)?$',
      0,
    );

    expect(full.code).toBe(1);
    expect(full.stderr).toBe(
      `provisions: cannot write keystore ${keystore}: ENOSPC: free space on its disk, then run the same command again\n`,
    );
  });
});
