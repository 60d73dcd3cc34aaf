import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { normalizeEmail } from '@provisions/api';

import { CliError, usageError } from './cli-error.js';
import { statOrUndefined } from './output-path.js';

/** How long to wait for a sign-in code to appear in the outbox, in milliseconds. */
export const OUTBOX_WAIT_MS = 5_000;

const POLL_INTERVAL_MS = 50;
const SIGN_IN_CODE = /^[0-9]{6}$/;

/**
 * A position in the development outbox file (`outbox.jsonl`, one JSON object
 * per email: `{ to, subject, text, code, created_at }`), taken before a code
 * is requested so that only emails written after it are read.
 */
export interface OutboxMark {
  path: string;
  /** Size of the file in bytes when the mark was taken; 0 if it did not exist. */
  offset: number;
}

/**
 * Checks, before a sign-in code is requested, that `path` can be the outbox file: it is a
 * regular file, or it does not exist yet and its directory does. Each request uses up one of
 * the limited sign-in codes an address gets per hour, so a wrong path must fail first.
 *
 * @throws CliError (exit code 2) naming `--outbox` and the problem.
 */
export async function checkOutboxPath(path: string): Promise<void> {
  if (path === '') {
    throw usageError("--outbox: the path is empty; expected the server's outbox.jsonl");
  }

  const found = await statOrUndefined(path, '--outbox');
  if (found !== undefined) {
    if (found.isDirectory()) {
      throw usageError(
        `--outbox: ${path} is a directory; expected the outbox file, such as ${join(path, 'outbox.jsonl')}`,
      );
    }
    if (!found.isFile()) {
      throw usageError(
        `--outbox: ${path} is not a regular file; expected the server's outbox.jsonl`,
      );
    }
    return;
  }

  // The server creates the file with its first email, so only the directory must exist.
  const directory = dirname(resolve(path));
  const parent = await statOrUndefined(directory, '--outbox');
  if (parent === undefined) {
    throw usageError(
      `--outbox: directory ${directory} does not exist; expected the server's data directory, which contains outbox.jsonl`,
    );
  }
  if (!parent.isDirectory()) {
    throw usageError(
      `--outbox: ${directory} is not a directory; expected the server's data directory, which contains outbox.jsonl`,
    );
  }
}

/** Marks the current end of the outbox file. */
export async function markOutbox(path: string): Promise<OutboxMark> {
  try {
    return { path, offset: (await stat(path)).size };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return { path, offset: 0 };
    }
    throw new CliError(`cannot read the outbox ${path}: ${(cause as NodeJS.ErrnoException).code}`);
  }
}

/**
 * Waits for an email to `email` written after `mark` and returns the newest
 * sign-in code among them.
 *
 * @throws CliError if no such email appears within {@link OUTBOX_WAIT_MS}.
 */
export async function waitForSignInCode(mark: OutboxMark, email: string): Promise<string> {
  const recipient = normalizeEmail(email);
  const deadline = Date.now() + OUTBOX_WAIT_MS;

  for (;;) {
    const code = await readNewestCode(mark, recipient);
    if (code !== undefined) {
      return code;
    }

    if (Date.now() >= deadline) {
      throw new CliError(
        `no sign-in code for ${recipient} appeared in ${mark.path} within ${OUTBOX_WAIT_MS / 1000} s: check that it is the outbox.jsonl in the server's data directory`,
      );
    }

    await sleep(POLL_INTERVAL_MS);
  }
}

async function readNewestCode(mark: OutboxMark, recipient: string): Promise<string | undefined> {
  let content: Buffer;
  try {
    content = await readFile(mark.path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new CliError(
      `cannot read the outbox ${mark.path}: ${(cause as NodeJS.ErrnoException).code}`,
    );
  }

  const lines = content.subarray(mark.offset).toString('utf8').split('\n');

  let newest: string | undefined;
  for (const line of lines) {
    const entry = parseOutboxLine(line);
    if (entry?.to === recipient && SIGN_IN_CODE.test(entry.code)) {
      newest = entry.code;
    }
  }

  return newest;
}

function parseOutboxLine(line: string): { to: string; code: string } | undefined {
  if (line.trim() === '') {
    return undefined;
  }

  try {
    const value: unknown = JSON.parse(line);
    const { to, code } = value as { to?: unknown; code?: unknown };
    return typeof to === 'string' && typeof code === 'string' ? { to, code } : undefined;
  } catch {
    // The last line may still be being written; it is read again on the next poll.
    return undefined;
  }
}
