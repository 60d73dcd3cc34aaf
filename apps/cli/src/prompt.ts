import { openSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { ReadStream } from 'node:tty';

import { CliError, EXIT_INTERRUPTED, usageError } from './cli-error.js';

/**
 * Tells whether the CLI can ask the person a question: stderr is a terminal, and
 * so is stdin or, when stdin carries piped input such as a link, the process's
 * controlling terminal.
 */
export function canPrompt(): boolean {
  return process.stderr.isTTY === true && terminalInput() !== undefined;
}

let controllingTerminal: ReadStream | undefined;

/** Returns a readable terminal: stdin if it is one, else the controlling terminal. */
function terminalInput(): Readable | undefined {
  if (process.stdin.isTTY === true) {
    return process.stdin;
  }
  if (controllingTerminal === undefined) {
    try {
      controllingTerminal = new ReadStream(openSync('/dev/tty', 'r'));
    } catch {
      return undefined;
    }
  }
  return controllingTerminal;
}

/**
 * Asks a question on the terminal and returns the reply, trimmed unless it
 * is hidden. The question goes to stderr so stdout keeps only results.
 *
 * @param hidden - when true, the typed answer is not echoed (for passphrases).
 * @param missingHint - what to do instead, for the error when there is no terminal.
 * @throws CliError (exit code 2) when stdin or stderr is not a terminal, or (exit code
 *   130) when the person types Ctrl-C.
 */
export async function prompt(
  question: string,
  options: { hidden: boolean; missingHint: string },
): Promise<string> {
  if (!canPrompt()) {
    throw usageError(`cannot ask "${question.trim()}" without a terminal: ${options.missingHint}`);
  }

  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) {
        process.stderr.write(chunk);
      }
      callback();
    },
  });

  const input = terminalInput() as Readable;
  const readline = createInterface({ input, output, terminal: true });
  // The terminal is in raw mode, so Ctrl-C reaches readline as input instead of sending
  // SIGINT. Without this listener, Node.js 20 readline closes and the question fails with
  // "Aborted with Ctrl+C".
  const interrupted = new AbortController();
  readline.once('SIGINT', () => interrupted.abort());
  try {
    const answer = readline.question(question, { signal: interrupted.signal });
    muted = options.hidden;
    const text = await answer.catch((error: unknown) => {
      if (!interrupted.signal.aborted) {
        throw error;
      }
      process.stderr.write('\n');
      throw new CliError(`interrupted at the prompt "${question.trim()}"`, EXIT_INTERRUPTED, {
        cause: error,
      });
    });
    if (options.hidden) {
      process.stderr.write('\n');
    }
    return options.hidden ? text : text.trim();
  } finally {
    readline.close();
    // The controlling terminal stays open across questions but must not keep the process alive.
    controllingTerminal?.unref();
  }
}
