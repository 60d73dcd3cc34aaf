import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeManifest } from './support/manifest-file.js';
import {
  CLI_PATH,
  type CliResult,
  runCli,
  runCliWithStdout,
  sendArgs,
  TEST_KDF_COST,
} from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const EXPORT_LINKS =
  'the links are in the keystore, and "provisions keystore export --out FILE" writes them';

// Makes writes to the files that FULL_DISK_PATH matches fail with ENOSPC.
const FULL_DISK = fileURLToPath(new URL('./support/full-disk.mjs', import.meta.url));

// Makes the writes to stdout after the first STDOUT_WRITES_ALLOWED fail with EPIPE.
const STDOUT_BREAKS = fileURLToPath(new URL('./support/stdout-breaks.mjs', import.meta.url));

let server: TestServer;
let workDir: string;
let organizationEnv: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-write-errors-'));
  organizationEnv = serverEnv(server, 'write errors test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

function manifestArgs(manifest: string, ...options: string[]): string[] {
  return ['send', '--manifest', manifest, '--keystore', `${manifest}.keystore`, ...options];
}

/** Sends one box to `email` with `send --to --json` and returns the recipient's summary. */
async function sendOne(
  keystore: string,
  email: string,
): Promise<{ link: string; provision_public_key: string }> {
  const sent = await runCli([...sendArgs(keystore, email, 'Box', 'hi'), '--json'], {
    env: organizationEnv,
  });
  expect(sent.code).toBe(0);
  return JSON.parse(sent.stdout).recipients[0];
}

/** Checks that stderr ends with `line` and has no other error line and no stack trace. */
function expectOneErrorLine(result: CliResult, line: string | RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  const errors = lines.filter((text) => text.startsWith('provisions:'));
  expect(errors).toHaveLength(1);
  if (typeof line === 'string') {
    expect(lines.at(-1)).toBe(line);
  } else {
    expect(lines.at(-1)).toMatch(line);
  }
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

/** Checks that a run with stdout on /dev/full exited 1 with one error line naming `unwritten`. */
function expectFullStdout(result: CliResult, unwritten: string): void {
  expect(result.code).toBe(1);
  expectOneErrorLine(result, `provisions: cannot write to standard output (ENOSPC): ${unwritten}`);
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

describe('stdout on /dev/full', () => {
  it('stops send --print-links before anything is sent', async () => {
    const manifest = await writeManifest(workDir, 'full-print', 2);

    const result = await runCliWithStdout(manifestArgs(manifest, '--print-links'), 'full', {
      env: organizationEnv,
    });

    expectFullStdout(result, 'nothing was sent');
  });

  it('reports a run finished earlier', async () => {
    const manifest = await writeManifest(workDir, 'full-finished', 2);
    const first = await runCli(manifestArgs(manifest), { env: organizationEnv });
    expect(first.code).toBe(0);

    const result = await runCliWithStdout(manifestArgs(manifest, '--print-links'), 'full', {
      env: organizationEnv,
    });

    expectFullStdout(
      result,
      `an earlier run sent every recipient, but the links were not printed; ${EXPORT_LINKS}, and running the same command again prints them (journal ${manifest}.journal)`,
    );
  });

  it('reports a resumed run sending nothing', async () => {
    const manifest = await writeManifest(workDir, 'full-resumed', 3);
    // The journal accepts 4 writes, so the run stops during the first recipient.
    const stopped = await runOnFullDisk(
      [...manifestArgs(manifest), '--concurrency', '1'],
      'full-resumed\\.csv\\.journal$',
      4,
    );
    expect(stopped.code).toBe(1);

    const result = await runCliWithStdout(manifestArgs(manifest, '--print-links'), 'full', {
      env: organizationEnv,
    });

    expectFullStdout(
      result,
      `this run sent nothing more; running the same command again finishes the run (journal ${manifest}.journal)`,
    );
  });

  it('prints the summary of send --json, then says where the links are', async () => {
    const manifest = await writeManifest(workDir, 'full-json', 2);

    const result = await runCliWithStdout(manifestArgs(manifest, '--json'), 'full', {
      env: organizationEnv,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^recipients: 2 of 2 done, 0 failed \(/m);
    expectOneErrorLine(
      result,
      `provisions: cannot write to standard output (ENOSPC): the JSON summary was not printed; ${EXPORT_LINKS}, and running the same command again prints the summary`,
    );
  });

  it('says that a single send was sent but not printed', async () => {
    const args = [
      ...sendArgs(join(workDir, 'single.json'), 'single@example.com', 'Box', 'hi'),
      '--print-links',
    ];

    const result = await runCliWithStdout(args, 'full', { env: organizationEnv });

    expectFullStdout(
      result,
      `the boxes for single@example.com were sent, but not printed; ${EXPORT_LINKS}`,
    );
  });

  it('reports keystore export --stdout and redeem', async () => {
    const keystore = join(workDir, 'export.json');
    const { link } = await sendOne(keystore, 'export@example.com');

    const exported = await runCliWithStdout(
      ['keystore', 'export', '--keystore', keystore, '--stdout'],
      'full',
      { env: organizationEnv },
    );
    const redeemed = await runCliWithStdout(
      ['redeem', link, '--email', 'export@example.com', '--outbox', server.outboxPath],
      'full',
    );

    expectFullStdout(
      exported,
      'the links were not written; run the command again with --out FILE to write them to a file',
    );
    expectFullStdout(
      redeemed,
      'the opened boxes were not printed; run the command again with --out DIR to save them in files',
    );
  });

  it('reports revoke after revoking', async () => {
    const keystore = join(workDir, 'revoke.json');
    const publicKey = (await sendOne(keystore, 'revoke@example.com')).provision_public_key;

    const revoked = await runCliWithStdout(['revoke', publicKey, '--keystore', keystore], 'full', {
      env: organizationEnv,
    });
    // The server returns 204 for a second revocation too.
    const again = await runCliWithStdout(['revoke', publicKey, '--json'], 'full', {
      env: organizationEnv,
    });

    expectFullStdout(
      revoked,
      'the provision was revoked, the entry of revoke@example.com was removed from the keystore, but this was not printed',
    );
    // Without --keystore, the warning that a keystore may still list the link comes first.
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      [
        'provisions: no keystore given (--keystore or PROVISIONS_KEYSTORE), so a keystore that holds this provision still lists its link: remove the entry with "provisions keystore revoke EMAIL"',
        'provisions: cannot write to standard output (ENOSPC): the provision was revoked, but this was not printed',
        '',
      ].join('\n'),
    );
  });

  it('reports --help', async () => {
    const result = await runCliWithStdout(['--help'], 'full');

    expectFullStdout(result, 'part of the output was not written');
  });
});

describe('closed stdout', () => {
  it('rejects send --json before anything is sent', async () => {
    const manifest = await writeManifest(workDir, 'closed-json', 1);

    const result = await runCliWithStdout(manifestArgs(manifest, '--json'), 'closed', {
      env: organizationEnv,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: standard output is closed, but the command prints the JSON summary with the links (--json) there; nothing was done\n',
    );
  });

  it('rejects keystore export --stdout', async () => {
    const result = await runCliWithStdout(
      ['keystore', 'export', '--keystore', join(workDir, 'none.json'), '--stdout'],
      'closed',
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: standard output is closed, but the command prints the links (--stdout) there; nothing was done\n',
    );
  });
});

describe('stdout closed by its reader', () => {
  it('stops send --print-links after the summary', async () => {
    const manifest = await writeManifest(workDir, 'pipe', 10);
    const child = spawn(
      process.execPath,
      [CLI_PATH, ...manifestArgs(manifest, '--print-links', '--concurrency', '1')],
      {
        env: {
          PATH: process.env.PATH ?? '',
          PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST,
          ...organizationEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // Like `| head -1`: the reader takes the header line and exits.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(code).toBe(1);
    expect(stderr).toMatch(/^recipients: \d+ of 10 done, 0 failed, \d+ skipped \(/m);
    expectOneErrorLine(
      { code: code ?? -1, stdout: '', stderr },
      `provisions: cannot write to standard output (EPIPE): the run stopped; ${EXPORT_LINKS}, and running the same command again finishes the run (journal ${manifest}.journal)`,
    );
  });
});

describe('stdout that breaks after some links', () => {
  it('reports a run finished earlier', async () => {
    const manifest = await writeManifest(workDir, 'broken-finished', 3);
    const first = await runCli(manifestArgs(manifest), { env: organizationEnv });
    expect(first.code).toBe(0);

    // Like `| head -2`: the header line and one link are written, then the reader exits.
    const result = await runCli(manifestArgs(manifest, '--print-links'), {
      env: {
        ...organizationEnv,
        NODE_OPTIONS: `--import ${STDOUT_BREAKS}`,
        STDOUT_WRITES_ALLOWED: '2',
      },
    });

    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toHaveLength(3);
    expect(result.stderr).toMatch(/^recipients: 3 of 3 done, 0 failed \(/m);
    expectOneErrorLine(
      result,
      `provisions: cannot write to standard output (EPIPE): an earlier run sent every recipient, but the links were not printed; ${EXPORT_LINKS}, and running the same command again prints them (journal ${manifest}.journal)`,
    );
  });
});

describe('send --manifest on a full disk', () => {
  it('names the journal after the summary, and resumes', async () => {
    const manifest = await writeManifest(workDir, 'journal', 20);
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
    const manifest = await writeManifest(workDir, 'keystore', 10);

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
    const manifest = await writeManifest(workDir, 'links', 3);
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

describe('send --manifest on a full disk with --links-out', () => {
  it('names the journal, not the links file', async () => {
    const manifest = await writeManifest(workDir, 'journal-links', 20);
    const linksOut = join(workDir, 'journal-links-out.csv');

    const full = await runOnFullDisk(
      [...manifestArgs(manifest, '--concurrency', '2'), '--links-out', linksOut],
      '\\.journal$|journal-links-out\\.csv',
      6,
    );

    expect(full.code).toBe(1);
    expectSummaryThenError(
      full,
      20,
      `provisions: cannot write the journal ${manifest}.journal (ENOSPC): free space on its disk, then run the same command again to resume`,
    );
  });

  it('names the keystore, not the links file', async () => {
    const keystore = join(workDir, 'keystore-links.json');
    const created = await runCli(sendArgs(keystore, 'keystore-links@example.com', 'Box', 'hi'), {
      env: organizationEnv,
    });
    expect(created.code).toBe(0);
    const manifest = await writeManifest(workDir, 'keystore-links', 10);
    const linksOut = join(workDir, 'keystore-links-out.csv');

    const full = await runOnFullDisk(
      [
        'send',
        '--manifest',
        manifest,
        '--keystore',
        keystore,
        '--concurrency',
        '2',
        '--links-out',
        linksOut,
      ],
      'keystore-links\\.json(\\.[0-9a-f]+\\.tmp)?$|keystore-links-out\\.csv',
      2,
    );

    expect(full.code).toBe(1);
    expectSummaryThenError(
      full,
      10,
      `provisions: cannot write keystore ${keystore}: ENOSPC: free space on its disk, then run the same command again`,
    );
  });
});

describe('send --to on a full disk', () => {
  it('names the keystore', async () => {
    const keystore = join(workDir, 'single-keystore.json');

    const full = await runOnFullDisk(
      sendArgs(keystore, 'single-full@example.com', 'Box', 'hi'),
      'single-keystore\\.json(\\.[0-9a-f]+\\.tmp)?$',
      0,
    );

    expect(full.code).toBe(1);
    expect(full.stderr).toBe(
      `provisions: cannot write keystore ${keystore}: ENOSPC: free space on its disk, then run the same command again\n`,
    );
  });
});
