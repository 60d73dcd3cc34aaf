import { normalizeEmail } from '@provisions/api';
import { type BoxContent, findBoxTitleProblem, findMessageProblem } from '@provisions/core';

import { CsvSyntaxError, parseCsv } from './csv.js';
import type { Manifest, ManifestRecipient } from './manifest.js';
import { ManifestError, ManifestProblems } from './manifest-error.js';
import { readMessageFile } from './message-file.js';

/** Columns a CSV manifest may have; `email`, `title` and one of `message` or `file` are required. */
const CSV_COLUMNS = ['email', 'title', 'message', 'file'] as const;

type CsvColumn = (typeof CSV_COLUMNS)[number];

/**
 * Parses a CSV manifest. The first line names the columns: `email`, `title`,
 * and `message` or `file` or both. Each further line is one message: its
 * text in `message`, or in the file that `file` names (read relative to
 * `baseDirectory`, UTF-8, at most `MAX_MESSAGE_BYTES` bytes); a line sets
 * exactly one of the two. Lines with the same email (after normalization)
 * and title go into one box, in file order; a recipient's boxes are in the
 * order of their first line.
 *
 * @example
 * email,title,message,file
 * ada@example.com,Contract,"Your contract is signed.",
 * ada@example.com,Contract,,contract-notes.txt
 * @throws ManifestError with one `file:line: column "name": problem` line per invalid
 *   field, after checking every line. A problem of the header or of the CSV syntax stops
 *   the check, so the error names only that one.
 */
export function parseCsvManifest(text: string, fileName: string, baseDirectory: string): Manifest {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      throw new ManifestError(`${fileName}:${error.line}: invalid CSV: ${error.message}`);
    }
    throw error;
  }

  const [header, ...rows] = records;
  if (header === undefined) {
    throw new ManifestError(
      `${fileName}:1: expected a header line such as "email,title,message" and at least one line`,
    );
  }

  const columns = readHeader(header.fields, fileName);
  if (rows.length === 0) {
    throw new ManifestError(`${fileName}:2: expected at least one line after the header`);
  }

  const problems = new ManifestProblems();
  const recipients = new Map<string, ManifestRecipient>();
  for (const row of rows) {
    if (row.fields.length !== header.fields.length) {
      problems.add(
        `${fileName}:${row.line}: expected ${header.fields.length} fields as in the header, found ${row.fields.length}`,
      );
      continue;
    }

    const report = (column: CsvColumn, problem: string): undefined => {
      problems.add(`${fileName}:${row.line}: column "${column}": ${problem}`);
      return undefined;
    };
    const line = readLine(row.fields, columns, baseDirectory, report);
    if (line === undefined) {
      continue;
    }

    let recipient = recipients.get(line.normalizedEmail);
    if (recipient === undefined) {
      recipient = { email: line.email, boxes: [] };
      recipients.set(line.normalizedEmail, recipient);
    }
    let box: BoxContent | undefined = recipient.boxes.find(
      (candidate) => candidate.title === line.title,
    );
    if (box === undefined) {
      box = { title: line.title, messages: [] };
      recipient.boxes.push(box);
    }
    box.messages.push(line.message);
  }

  problems.throwIfAny();
  return { recipients: [...recipients.values()] };
}

function readHeader(fields: string[], fileName: string): Map<CsvColumn, number> {
  const columns = new Map<CsvColumn, number>();

  for (const [index, raw] of fields.entries()) {
    const name = raw.trim().toLowerCase();
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      // Spreadsheet programs in locales with a decimal comma write CSV with semicolons.
      const separatorHint = raw.includes(';')
        ? '. The manifest must be comma-separated, but this header uses semicolons, as spreadsheet programs do in some locales: save it again with commas as the separator'
        : '';
      throw new ManifestError(
        `${fileName}:1: unknown column "${raw}"; expected only ${CSV_COLUMNS.map((column) => `"${column}"`).join(', ')}${separatorHint}`,
      );
    }
    if (columns.has(name as CsvColumn)) {
      throw new ManifestError(`${fileName}:1: column "${name}" appears twice`);
    }
    columns.set(name as CsvColumn, index);
  }

  for (const required of ['email', 'title'] as const) {
    if (!columns.has(required)) {
      throw new ManifestError(`${fileName}:1: missing column "${required}"`);
    }
  }
  if (!columns.has('message') && !columns.has('file')) {
    throw new ManifestError(`${fileName}:1: missing column "message" or "file"`);
  }

  return columns;
}

/** One valid line of a CSV manifest. */
interface CsvLine {
  email: string;
  normalizedEmail: string;
  title: string;
  message: string;
}

/**
 * Checks every field of one line and returns it, or reports each invalid field and returns
 * `undefined`, so that one run lists the problems of all fields and lines.
 */
function readLine(
  fields: readonly string[],
  columns: ReadonlyMap<CsvColumn, number>,
  baseDirectory: string,
  report: (column: CsvColumn, problem: string) => undefined,
): CsvLine | undefined {
  const cell = (column: CsvColumn): string => {
    const index = columns.get(column);
    return index === undefined ? '' : (fields[index] ?? '');
  };

  const email = cell('email').trim();
  const normalizedEmail = readEmail(email, report);
  const title = readTitle(cell('title'), report);
  const message = readRowMessage(cell('message'), cell('file'), baseDirectory, report);

  if (normalizedEmail === undefined || title === undefined || message === undefined) {
    return undefined;
  }
  return { email, normalizedEmail, title, message };
}

function readEmail(
  email: string,
  report: (column: CsvColumn, problem: string) => undefined,
): string | undefined {
  if (email === '') {
    return report('email', 'expected an email address');
  }

  try {
    return normalizeEmail(email);
  } catch (error) {
    return report('email', (error as Error).message);
  }
}

function readTitle(
  title: string,
  report: (column: CsvColumn, problem: string) => undefined,
): string | undefined {
  if (title.trim() === '') {
    return report('title', 'expected a non-empty title');
  }

  const problem = findBoxTitleProblem(title);
  return problem === undefined ? title : report('title', problem);
}

function readRowMessage(
  message: string,
  file: string,
  baseDirectory: string,
  report: (column: CsvColumn, problem: string) => undefined,
): string | undefined {
  if (message !== '' && file !== '') {
    return report('file', 'expected either "message" or "file" on a line, not both');
  }

  if (file !== '') {
    const result = readMessageFile(file, baseDirectory);
    return 'problem' in result ? report('file', result.problem) : result.text;
  }

  if (message.trim() === '') {
    return report('message', 'expected a non-empty message, or a "file" column');
  }
  const problem = findMessageProblem(message);
  return problem === undefined ? message : report('message', problem);
}
