import { constants, fstatSync, readFileSync, statSync } from 'node:fs';

import { CliError, EXIT_FAILURE, escapeControlCharacters, usageError } from './cli-error.js';

/** Description of the lost output for a failed write whose caller gave none. */
const DEFAULT_UNWRITTEN = 'part of the output was not written';

/** The code of {@link StdoutError} when standard output was closed before the command started. */
const CLOSED = 'closed';

/** The first failed write to stdout: its error code and what it lost. */
let stdoutFailure: { code: string; unwritten: string } | undefined;

/** Description of the output the latest write would lose, for a failure seen only as an event. */
let lastUnwritten = DEFAULT_UNWRITTEN;

/** Resolves once the latest write to stdout has finished or failed. */
let lastWrite: Promise<void> = Promise.resolve();

/**
 * An error writing to standard output, such as ENOSPC for `> /dev/full` or EPIPE for a reader
 * that exited. The command exits with code 1.
 */
export class StdoutError extends CliError {
  constructor(code: string, unwritten: string) {
    super(
      code === CLOSED
        ? `standard output is closed: ${unwritten}`
        : `cannot write to standard output (${code}): ${unwritten}`,
      EXIT_FAILURE,
    );
    this.name = 'StdoutError';
  }
}

/**
 * Records failed writes to stdout instead of letting them end the process with a stack trace,
 * and takes a stdout that was closed when the process started as failed. Call it once, before
 * anything is written.
 */
export function watchStdout(): void {
  // A pipe whose reader exited can report EPIPE with this event before the callback of the
  // write, so the failure is charged to the latest write. Writes by others, such as
  // commander's help, are recorded here only.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    stdoutFailure ??= { code: error.code ?? error.message, unwritten: lastUnwritten };
  });
  if (isStdoutClosed()) {
    stdoutFailure = { code: CLOSED, unwritten: DEFAULT_UNWRITTEN };
  }
}

/**
 * Returns whether stdout was closed when the process started (`>&-`). Node.js then opens
 * /dev/null as file descriptor 1 for reading and writing, which a shell redirection such as
 * `> /dev/null` never does: it opens it for writing only. The access mode is read from
 * /proc/self/fdinfo/1, so this works on Linux only and returns false elsewhere.
 *
 * NOTE: `1<>/dev/null`, which opens /dev/null for reading and writing, also counts as closed.
 */
function isStdoutClosed(): boolean {
  try {
    if (fstatSync(1).rdev !== statSync('/dev/null').rdev) {
      return false;
    }
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'));
    return flags !== null && (Number.parseInt(flags[1] as string, 8) & 0o3) === constants.O_RDWR;
  } catch {
    return false;
  }
}

/**
 * Raises a usage error before any work when stdout was closed, for a command whose results
 * go there.
 *
 * @param results - what the command prints, such as `the links (--print-links)`.
 * @throws CliError (exit code 2).
 */
export function requireOpenStdout(results: string): void {
  if (stdoutFailure?.code === CLOSED) {
    throw usageError(
      `standard output is closed, but the command prints ${results} there; nothing was done`,
    );
  }
}

/**
 * Writes `text` to stdout. A write that fails later is recorded with `unwritten`, and the
 * next write, or {@link finishStdout}, raises it.
 *
 * @param unwritten - what is lost if the write fails and how to get it, for the error.
 * @throws StdoutError when an earlier write failed or stdout is closed.
 */
export function printText(text: string, unwritten: string = DEFAULT_UNWRITTEN): void {
  if (stdoutFailure !== undefined) {
    throw new StdoutError(stdoutFailure.code, unwritten);
  }
  lastUnwritten = unwritten;
  lastWrite = new Promise((resolve) => {
    process.stdout.write(text, (error) => {
      if (error !== null && error !== undefined) {
        const code = (error as NodeJS.ErrnoException).code ?? error.message;
        stdoutFailure ??= { code, unwritten };
      }
      resolve();
    });
  });
}

/** Writes `value` as indented JSON, with a final newline, to stdout, like {@link printText}. */
export function printJson(value: unknown, unwritten?: string): void {
  printText(`${JSON.stringify(value, null, 2)}\n`, unwritten);
}

/** Writes lines to stdout, the stream for results, like {@link printText}. */
export function printLines(lines: readonly string[], unwritten?: string): void {
  if (lines.length > 0) {
    printText(`${lines.join('\n')}\n`, unwritten);
  }
}

/**
 * Waits until every write to stdout has finished or failed.
 *
 * @throws StdoutError with what the first failed write lost.
 */
export async function finishStdout(): Promise<void> {
  // Write callbacks run in order, so the latest one runs last. The wait for the next turn
  // of the event loop lets error events of other writes, such as commander's help, arrive.
  await lastWrite;
  await new Promise((resolve) => setImmediate(resolve));
  if (stdoutFailure !== undefined) {
    throw new StdoutError(stdoutFailure.code, stdoutFailure.unwritten);
  }
}

/** Returns `count` with the singular or plural noun, such as `1 box` or `2 boxes`. */
export function formatCount(count: number, singular: string, plural: string): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/**
 * Writes one progress or notice line to stderr, so stdout keeps only results. Control
 * characters in it, such as a line feed in a path, are escaped, so it stays one line.
 */
export function printNotice(line: string): void {
  process.stderr.write(`${escapeControlCharacters(line)}\n`);
}
