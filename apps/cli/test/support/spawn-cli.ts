import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

import { CLI_PATH, TEST_KDF_COST } from './run-cli.js';

/** A CLI process started in the background, with what it printed so far. */
export interface SpawnedCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code, or the signal name if it was killed. */
  exited: Promise<number | string>;
}

/** Starts `node dist/main.js ...args` with only PATH, the test scrypt cost and `env`. */
export function spawnCli(args: string[], env: Record<string, string>): SpawnedCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? '', PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? -1));
  });

  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * Waits up to `limitMs` for `cli` to exit by itself, then kills it with SIGKILL. Resolves
 * with the exit code, or `still running` when it had not exited by then.
 */
export async function exitWithin(cli: SpawnedCli, limitMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), limitMs);
  });
  try {
    return await Promise.race([cli.exited, limit]);
  } finally {
    clearTimeout(timer);
    cli.child.kill('SIGKILL');
  }
}

/** Counts the complete lines of a file, 0 if it does not exist. */
export async function countLines(path: string): Promise<number> {
  try {
    const text = await readFile(path, 'utf8');
    let count = 0;
    for (const character of text) {
      if (character === '\n') {
        count += 1;
      }
    }
    return count;
  } catch {
    return 0;
  }
}

/**
 * Kills `cli` with SIGKILL as soon as `path` has at least `lines` lines, or
 * lets it finish. Resolves with whether it was killed.
 */
export async function killAfterLines(
  cli: SpawnedCli,
  path: string,
  lines: number,
): Promise<boolean> {
  let finished = false;
  void cli.exited.then(() => {
    finished = true;
  });

  while (!finished) {
    if ((await countLines(path)) >= lines) {
      cli.child.kill('SIGKILL');
      await cli.exited;
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}
