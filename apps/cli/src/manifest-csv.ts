import { normalizeEmail } from '@provisions/api';
import { type BoxContent, findBoxTitleProblem, findMessageProblem } from '@provisions/core';

import { CsvSyntaxError, parseCsv } from './csv.js';
import type { Manifest, ManifestRecipient } from './manifest.js';
import { ManifestError } from './manifest-error.js';
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
 * @throws ManifestError `file:line: column "name": problem` for the first invalid line.
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

  const recipients = new Map<string, ManifestRecipient>();
  for (const row of rows) {
    const fail = (column: CsvColumn, problem: string): never => {
      throw new ManifestError(`${fileName}:${row.line}: column "${column}": ${problem}`);
    };

    if (row.fields.length !== header.fields.length) {
      throw new ManifestError(
        `${fileName}:${row.line}: expected ${header.fields.length} fields as in the header, found ${row.fields.length}`,
      );
    }
    const cell = (column: CsvColumn): string => {
      const index = columns.get(column);
      return index === undefined ? '' : (row.fields[index] ?? '');
    };

    const email = cell('email').trim();
    if (email === '') {
      fail('email', 'expected an email address');
    }
    let normalized: string;
    try {
      normalized = normalizeEmail(email);
    } catch (error) {
      return fail('email', (error as Error).message);
    }

    const title = cell('title');
    if (title.trim() === '') {
      fail('title', 'expected a non-empty title');
    }
    const titleProblem = findBoxTitleProblem(title);
    if (titleProblem !== undefined) {
      fail('title', titleProblem);
    }

    const message = readRowMessage(cell('message'), cell('file'), baseDirectory, fail);

    let recipient = recipients.get(normalized);
    if (recipient === undefined) {
      recipient = { email, boxes: [] };
      recipients.set(normalized, recipient);
    }
    let box: BoxContent | undefined = recipient.boxes.find(
      (candidate) => candidate.title === title,
    );
    if (box === undefined) {
      box = { title, messages: [] };
      recipient.boxes.push(box);
    }
    box.messages.push(message);
  }

  return { recipients: [...recipients.values()] };
}

function readHeader(fields: string[], fileName: string): Map<CsvColumn, number> {
  const columns = new Map<CsvColumn, number>();

  for (const [index, raw] of fields.entries()) {
    const name = raw.trim().toLowerCase();
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      throw new ManifestError(
        `${fileName}:1: unknown column "${raw}"; expected only ${CSV_COLUMNS.map((column) => `"${column}"`).join(', ')}`,
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

function readRowMessage(
  message: string,
  file: string,
  baseDirectory: string,
  fail: (column: CsvColumn, problem: string) => never,
): string {
  if (message !== '' && file !== '') {
    return fail('file', 'expected either "message" or "file" on a line, not both');
  }

  if (file !== '') {
    const result = readMessageFile(file, baseDirectory);
    return 'problem' in result ? fail('file', result.problem) : result.text;
  }

  if (message.trim() === '') {
    return fail('message', 'expected a non-empty message, or a "file" column');
  }
  const problem = findMessageProblem(message);
  return problem === undefined ? message : fail('message', problem);
}
