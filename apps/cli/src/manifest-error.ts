import { CliError, EXIT_USAGE, escapeControlCharacters } from './cli-error.js';

/** Maximum number of problems a {@link ManifestError} lists; it counts the others. */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * A manifest that is not valid JSON or CSV, or not in the manifest format. The message has
 * one line per problem, each starting with `file:line:column:` (`file:line:` for CSV) and
 * naming the field, such as `recipients[2].boxes[0].title: expected a non-empty string`.
 * After {@link MAX_LISTED_PROBLEMS} lines, a last line counts the problems not listed. Control
 * characters in a problem, such as a line feed in a file name, are escaped in the message.
 */
export class ManifestError extends CliError {
  /** Every problem found, in file order, including those the message leaves out. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(listProblems(list.map(escapeControlCharacters)), EXIT_USAGE);
    this.name = 'ManifestError';
    this.problems = list;
  }
}

/** Problems found while checking a manifest, so that one run reports all of them. */
export class ManifestProblems {
  readonly #problems: string[] = [];

  /** Number of problems added so far. */
  get count(): number {
    return this.#problems.length;
  }

  /** Adds one problem, a line such as `recipients.csv:7: column "email": …`. */
  add(problem: string): void {
    this.#problems.push(problem);
  }

  /** Throws a {@link ManifestError} listing the problems, if there are any. */
  throwIfAny(): void {
    if (this.#problems.length > 0) {
      throw new ManifestError(this.#problems);
    }
  }
}

function listProblems(problems: readonly string[]): string {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS);
  const unlisted = problems.length - lines.length;
  if (unlisted > 0) {
    lines.push(`… and ${unlisted} more ${unlisted === 1 ? 'problem' : 'problems'}`);
  }
  return lines.join('\n');
}
