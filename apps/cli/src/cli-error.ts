/** Exit code of a command that failed. */
export const EXIT_FAILURE = 1;

/** Exit code of a command given bad usage: a missing or invalid option, an invalid manifest. */
export const EXIT_USAGE = 2;

/**
 * Exit code of `send --manifest` when some recipients failed and the others
 * were sent; running the same command again retries the failed ones.
 */
export const EXIT_PARTIAL_FAILURE = 3;

/** Exit code after SIGINT (Ctrl-C), 128 plus the signal number 2, as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Exit code after SIGTERM, 128 plus the signal number 15, as shells report it. */
export const EXIT_TERMINATED = 143;

/**
 * An error the CLI reports as one line on stderr, then exits with `exitCode`.
 * The message must not contain a secret (link, share, code, token, passphrase).
 */
export class CliError extends Error {
  /** {@link EXIT_FAILURE} or {@link EXIT_USAGE}. */
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Creates a {@link CliError} for bad usage, which exits with {@link EXIT_USAGE}. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

/**
 * A failed write of a file that the CLI keeps or produces, such as the journal. The message
 * names the file, its path and the error code, then the next step: to free space for ENOSPC
 * and EDQUOT, then `next`.
 */
export class FileWriteError extends CliError {
  constructor(file: string, path: string, cause: unknown, next = 'run the same command again') {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    super(
      `cannot write ${file} ${path} (${code}): ${describeWriteRemedy(code, next)}`,
      EXIT_FAILURE,
      {
        cause,
      },
    );
    this.name = 'FileWriteError';
  }
}

/**
 * Returns what to do after a write failed with the error `code`, ending with `next`, such as
 * `free space on its disk, then run the same command again` for ENOSPC.
 */
export function describeWriteRemedy(code: string | undefined, next: string): string {
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return `free space on its disk, then ${next}`;
  }
  return `once the file can be written, ${next}`;
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// Control characters (U+0000 to U+001F, U+007F to U+009F) and the line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the match.
const LINE_BREAKING_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Returns `text` with each control character, line separator and paragraph separator written
 * as an escape (`\n`, `\t`, `\u001b`). A path or value from a file or an argument then cannot
 * break a line of stderr in two or move the terminal's cursor.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(
    LINE_BREAKING_OR_CONTROL,
    (character) =>
      NAMED_ESCAPES[character] ??
      `\\u${(character.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}
