import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';

import { usageError } from './cli-error.js';

/** Tells whether the CLI can ask the person a question: stdin and stderr are terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Asks a question on the terminal and returns the answer, trimmed unless it
 * is hidden. The question goes to stderr so stdout keeps only results.
 *
 * @param hidden - when true, the typed answer is not echoed (for passphrases).
 * @param missingHint - what to do instead, for the error when there is no terminal.
 * @throws CliError (exit code 2) when stdin or stderr is not a terminal.
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

  const readline = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = readline.question(question);
    muted = options.hidden;
    const text = await answer;
    if (options.hidden) {
      process.stderr.write('\n');
    }
    return options.hidden ? text : text.trim();
  } finally {
    readline.close();
  }
}
