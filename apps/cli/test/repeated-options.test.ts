import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { createProgram } from '../src/program.js';
import { runCli } from './support/run-cli.js';

// Nothing listens on port 9 of 127.0.0.1: a command that sent a request
// there would fail with exit code 1 instead of the usage error (exit code 2).
const env = {
  PROVISIONS_SERVER: 'http://127.0.0.1:9',
  PROVISIONS_ORG_ID: 'org',
  PROVISIONS_CLIENT_SECRET: 'client-secret',
  PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
};

const sendOne = ['send', '--keystore', 'k.json', '--title', 'ok', '--message', 'x'];

/** Parses `args` with the CLI's program and returns the options its `command` action received. */
async function parsedOptions(command: string, args: string[]): Promise<Record<string, unknown>> {
  const program = createProgram();
  let received: Record<string, unknown> | undefined;
  const subcommand = program.commands.find((item) => item.name() === command) as Command;
  subcommand.action(() => {
    received = subcommand.opts();
  });

  await program.parseAsync(['node', 'provisions', command, ...args]);
  return received ?? {};
}

describe('repeated options', () => {
  it('rejects a second --to', async () => {
    const result = await runCli([...sendOne, '--to', 'a@example.com', '--to', 'b@example.com'], {
      env,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --to was given more than once; send --to sends one box to one person, so use --manifest FILE for several people\n',
    );
    expect(result.stdout).toBe('');
  });

  it.each([
    ['send --title', [...sendOne, '--to', 'a@example.com', '--title', 'B'], '--title'],
    [
      'send --server',
      [
        ...sendOne,
        '--to',
        'a@example.com',
        '--server',
        'http://127.0.0.1:9',
        '--server',
        'http://127.0.0.1:9',
      ],
      '--server',
    ],
    [
      'redeem --code',
      [
        'redeem',
        'http://127.0.0.1:9/join#provision:x',
        '--email',
        'a@example.com',
        '--code',
        '111111',
        '--code',
        '222222',
      ],
      '--code',
    ],
    ['revoke --org-id', ['revoke', 'A'.repeat(43), '--org-id', 'a', '--org-id', 'b'], '--org-id'],
    [
      'keystore list --keystore',
      ['keystore', 'list', '--keystore', 'a.json', '--keystore', 'b.json'],
      '--keystore',
    ],
    ['demo --data-dir', ['demo', '--data-dir', 'a', '--data-dir', 'b'], '--data-dir'],
  ])('%s given twice is a usage error', async (_name, args, flag) => {
    // A demo that ran anyway would write its data directory here.
    const cwd = await mkdtemp(join(tmpdir(), 'provisions-cli-repeated-'));
    const result = await runCli(args, { env, cwd }).finally(() =>
      rm(cwd, { recursive: true, force: true }),
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: ${flag} was given more than once; give it once\n`);
    expect(result.stdout).toBe('');
  });

  it('does not repeat the value of --code', async () => {
    const result = await runCli(
      ['redeem', 'http://127.0.0.1:9/join#provision:x', '--code', '111111', '--code', '222222'],
      { env },
    );

    expect(result.stderr).not.toContain('111111');
    expect(result.stderr).not.toContain('222222');
  });

  it('takes a flag over its environment variable', async () => {
    const options = await parsedOptions('revoke', ['A'.repeat(43), '--server', 'http://a.test']);

    expect(options.server).toBe('http://a.test');
  });

  it('takes the environment variable alone', async () => {
    process.env.PROVISIONS_ORG_ID = 'from-env';
    try {
      const options = await parsedOptions('revoke', ['A'.repeat(43)]);

      expect(options.orgId).toBe('from-env');
    } finally {
      delete process.env.PROVISIONS_ORG_ID;
    }
  });

  it('accumulates repeated --message values', async () => {
    const options = await parsedOptions('send', ['--message', 'a', 'b', '--message', 'c']);

    expect(options.message).toEqual(['a', 'b', 'c']);
  });

  it('keeps the default of demo --data-dir', async () => {
    const program = createProgram();
    const demo = program.commands.find((item) => item.name() === 'demo') as Command;
    let received: Record<string, unknown> | undefined;
    demo.action(() => {
      received = demo.opts();
    });

    await program.parseAsync(['node', 'provisions', 'demo', '--fresh']);

    expect(received?.dataDir).toBeUndefined();
    expect(demo.helpInformation()).toContain('(default: .demo)');
  });
});

describe('"--" as an option value', () => {
  it.each([
    [[...sendOne.slice(0, 5), '--to', 'a@example.com', '--message', '--', '--json'], '--message'],
    [[...sendOne, '--to', 'a@example.com', '--title', '--'], '--title'],
  ])('%j is a usage error', async (args, flag) => {
    const result = await runCli(args, { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${flag}: received "--" as its value; this command takes no arguments after "--", so give the value itself after ${flag}\n`,
    );
    expect(result.stdout).toBe('');
  });
});
