import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, as the `provisions` bin runs it. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/**
 * An organization id of the right form (a UUID) that no test server has, for tests that stop
 * before any request.
 */
export const UNKNOWN_ORGANIZATION_ID = '00000000-0000-4000-8000-000000000000';

/**
 * A server URL where nothing listens, port 9 of 127.0.0.1: a command that sent a request there
 * would fail with exit code 1 instead of a usage error (exit code 2).
 */
export const UNUSED_SERVER = 'http://127.0.0.1:9';

/** The scrypt cost the tests give the keystore: the crypto package's minimum, 2^14. */
export const TEST_KDF_COST = '14';

/** What a CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/main.js ...args` without a terminal, with `input` (or nothing)
 * on standard input, and returns its output.
 * The environment holds only PATH, the test scrypt cost and `env`, so
 * variables of the machine never leak into a test.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST,
    ...options.env,
  };

  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI_PATH, ...args],
      { env, cwd: options.cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        let code = 0;
        if (error !== null) {
          code = typeof error.code === 'number' ? error.code : -1;
        }
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * Returns the arguments of `provisions send` for one box to one recipient: the
 * keystore, the address, the box title and its messages.
 */
export function sendArgs(
  keystore: string,
  recipient: string,
  title: string,
  ...messages: string[]
): string[] {
  return ['send', '--keystore', keystore, ...boxOptions(recipient, title, ...messages)];
}

/**
 * Returns the options of `provisions send` that describe one box to one recipient: the address,
 * the box title and its messages.
 */
export function boxOptions(recipient: string, title: string, ...messages: string[]): string[] {
  return ['--to', recipient, '--title', title, '--message', ...messages];
}

/**
 * Returns the arguments of `provisions send` against {@link UNUSED_SERVER} with an unknown
 * organization id and `keystore`, followed by `rest`, for checks that end the command before
 * any request.
 */
export function sendArgsWithoutServer(keystore: string, ...rest: string[]): string[] {
  return [
    'send',
    '--server',
    UNUSED_SERVER,
    '--org-id',
    UNKNOWN_ORGANIZATION_ID,
    '--keystore',
    keystore,
    ...rest,
  ];
}

/**
 * Runs `node dist/main.js ...args` like {@link runCli}, with stdout on /dev/full, where every
 * write fails with ENOSPC, or closed (`>&-` in sh).
 */
export function runCliWithStdout(
  args: string[],
  stdout: 'full' | 'closed',
  options: { env?: Record<string, string> } = {},
): Promise<CliResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST,
    ...options.env,
  };
  const command =
    stdout === 'full'
      ? [process.execPath, CLI_PATH, ...args]
      : ['/bin/sh', '-c', 'exec "$@" >&-', 'sh', process.execPath, CLI_PATH, ...args];
  const descriptor = stdout === 'full' ? openSync('/dev/full', 'w') : 'ignore';

  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), {
      env,
      stdio: ['ignore', descriptor, 'pipe'],
      timeout: 60_000,
    });
    if (typeof descriptor === 'number') {
      closeSync(descriptor);
    }
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: '', stderr }));
  });
}
