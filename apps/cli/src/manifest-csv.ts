import { normalizeEmail } from '@provisions/api';
import {
  type BoxContent,
  findBoxTitleProblem,
  findMessageProblem,
  MAX_MESSAGE_BYTES,
} from '@provisions/core';

import { CsvParser, type CsvRecord, CsvSizeError, CsvSyntaxError } from './csv.js';
import type { Manifest, ManifestRecipient } from './manifest.js';
import { ManifestError, ManifestProblems } from './manifest-error.js';
import { readMessageFile } from './message-file.js';

/** Columns a CSV manifest may have; `email`, `title` and one of `message` or `file` are required. */
const CSV_COLUMNS = ['email', 'title', 'message', 'file'] as const;

type CsvColumn = (typeof CSV_COLUMNS)[number];

/**
 * Maximum bytes of UTF-8 in one field of a CSV manifest. No valid field is longer than a
 * message: a title has at most 200 characters, an email address at most 254 bytes, and a file
 * path at most 4,096 bytes on Linux (PATH_MAX).
 */
export const MAX_CSV_FIELD_BYTES = MAX_MESSAGE_BYTES;

/**
 * Maximum bytes of UTF-8 in the fields of one line of a CSV manifest, with one byte per comma:
 * a message of {@link MAX_CSV_FIELD_BYTES} and 64 KiB for its email, title and file path.
 */
export const MAX_CSV_LINE_BYTES = MAX_CSV_FIELD_BYTES + 64 * 1024;

/**
 * Builds a manifest from CSV text given piece by piece, checking each line as it is read (see
 * {@link parseCsvManifest} for the format). It keeps only the manifest and the line being
 * read, and stops at the first field or line over {@link MAX_CSV_FIELD_BYTES} or
 * {@link MAX_CSV_LINE_BYTES}.
 */
export class CsvManifestReader {
  readonly #fileName: string;
  readonly #baseDirectory: string;
  readonly #parser: CsvParser;
  readonly #problems = new ManifestProblems();
  readonly #recipients = new Map<string, ManifestRecipient>();
  #header: CsvHeader | undefined;
  #rowCount = 0;

  constructor(fileName: string, baseDirectory: string) {
    this.#fileName = fileName;
    this.#baseDirectory = baseDirectory;
    this.#parser = new CsvParser((record) => this.#addRecord(record), {
      maxFieldBytes: MAX_CSV_FIELD_BYTES,
      maxRecordBytes: MAX_CSV_LINE_BYTES,
    });
  }

  /**
   * Reads the next piece of the text, without a byte order mark.
   *
   * @throws ManifestError for invalid CSV, an invalid header, or a field or line over the limit.
   */
  write(text: string): void {
    this.#parseCsv(() => this.#parser.write(text));
  }

  /**
   * Ends the text and returns the manifest.
   *
   * @throws ManifestError with one line per problem found in the whole text.
   */
  end(): Manifest {
    this.#parseCsv(() => this.#parser.end());

    if (this.#header === undefined) {
      throw new ManifestError(
        `${this.#fileName}:1: expected a header line such as "email,title,message" and at least one line`,
      );
    }
    if (this.#rowCount === 0) {
      throw new ManifestError(`${this.#fileName}:2: expected at least one line after the header`);
    }

    this.#problems.throwIfAny();
    return { recipients: [...this.#recipients.values()] };
  }

  #parseCsv(parse: () => void): void {
    try {
      parse();
    } catch (error) {
      if (error instanceof CsvSizeError) {
        throw new ManifestError(this.#describeSizeError(error));
      }
      if (error instanceof CsvSyntaxError) {
        throw new ManifestError(`${this.#fileName}:${error.line}: invalid CSV: ${error.message}`);
      }
      throw error;
    }
  }

  #describeSizeError(error: CsvSizeError): string {
    const location = `${this.#fileName}:${error.line}`;
    if (error.kind === 'record') {
      return (
        `${location}: the fields of this line add up to more than ${error.limit} bytes, the ` +
        'maximum for one line (a message of the largest size with its email, title and file)'
      );
    }

    const column = this.#header?.names[error.field];
    const field = column === undefined ? `field ${error.field + 1}` : `column "${column}"`;
    if (error.quoted) {
      return (
        `${location}: ${field}: the quoted field that starts on this line is longer than ` +
        `${error.limit} bytes, the maximum for any field; if it should end sooner, look for a ` +
        'double quote that is not closed'
      );
    }
    return (
      `${location}: ${field}: the field is longer than ${error.limit} bytes, the maximum for ` +
      'any field (the largest message the API accepts)'
    );
  }

  #addRecord(record: CsvRecord): void {
    if (this.#header === undefined) {
      this.#header = readHeader(record.fields, this.#fileName);
      return;
    }

    this.#rowCount += 1;
    const header = this.#header;
    if (record.fields.length !== header.names.length) {
      this.#problems.add(
        `${this.#fileName}:${record.line}: expected ${header.names.length} fields as in the header, found ${record.fields.length}`,
      );
      return;
    }

    const report = (column: CsvColumn, problem: string): undefined => {
      this.#problems.add(`${this.#fileName}:${record.line}: column "${column}": ${problem}`);
      return undefined;
    };
    const line = readLine(record.fields, header.columns, this.#baseDirectory, report);
    if (line !== undefined) {
      this.#addLine(line);
    }
  }

  #addLine(line: CsvLine): void {
    let recipient = this.#recipients.get(line.normalizedEmail);
    if (recipient === undefined) {
      recipient = { email: line.email, boxes: [] };
      this.#recipients.set(line.normalizedEmail, recipient);
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
}

/**
 * Parses a CSV manifest. The first line names the columns: `email`, `title`,
 * and `message` or `file` or both. Each further line is one message: its
 * text in `message`, or in the file that `file` names (read relative to
 * `baseDirectory`, UTF-8, at most `MAX_MESSAGE_BYTES` bytes). A line sets
 * exactly one of the two. Lines with the same email (after normalization)
 * and title go into one box, in file order; a recipient's boxes are in the
 * order of their first line. A byte order mark at the start is ignored.
 *
 * @example
 * email,title,message,file
 * ada@example.com,Contract,"Your contract is signed.",
 * ada@example.com,Contract,,contract-notes.txt
 * @throws ManifestError with one `file:line: column "name": problem` line per invalid
 *   field, after checking every line. A problem of the header or of the CSV syntax, or a
 *   field or line over {@link MAX_CSV_FIELD_BYTES} or {@link MAX_CSV_LINE_BYTES}, stops the
 *   check, so the error names only that one.
 */
export function parseCsvManifest(text: string, fileName: string, baseDirectory: string): Manifest {
  const reader = new CsvManifestReader(fileName, baseDirectory);
  reader.write(text.startsWith('\ufeff') ? text.slice(1) : text);
  return reader.end();
}

/** The header line: the column of each field, and the index of each column. */
interface CsvHeader {
  names: CsvColumn[];
  columns: Map<CsvColumn, number>;
}

function readHeader(fields: readonly string[], fileName: string): CsvHeader {
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

  return { names: [...columns.keys()], columns };
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
