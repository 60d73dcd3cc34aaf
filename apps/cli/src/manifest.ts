import { constants } from 'node:buffer';
import { dirname, extname } from 'node:path';

import { normalizeEmail } from '@provisions/api';
import {
  type BoxContent,
  findBoxTitleProblem,
  findMessageProblem,
  MAX_MESSAGE_BYTES,
} from '@provisions/core';
import { type ParseErrorCode, printParseErrorCode, visit } from 'jsonc-parser';

import { countLineFeeds } from './csv.js';
import { JsonStringLimit, JsonStringTooLongError } from './json-string-limit.js';
import { CsvManifestReader } from './manifest-csv.js';
import { ManifestError, ManifestProblems } from './manifest-error.js';
import { readManifestText } from './manifest-input.js';
import { readMessageFile } from './message-file.js';

export { ManifestError } from './manifest-error.js';

/** One recipient of a manifest and the boxes to send them. */
export interface ManifestRecipient {
  /** The email address as written in the manifest. */
  email: string;
  /** At least one box. */
  boxes: BoxContent[];
}

/**
 * A validated manifest: `{ "recipients": [ { "email", "boxes": [ { "title", "messages" } ] } ] }`.
 * Messages given as files are already read, so every message is text.
 */
export interface Manifest {
  recipients: ManifestRecipient[];
}

type JsonPath = (string | number)[];

const { MAX_STRING_LENGTH } = constants;

/**
 * Reads and validates the manifest at `path`: CSV when the name ends in
 * `.csv` in any case, JSON otherwise. Message files are read relative to the manifest's
 * directory. A CSV manifest is checked line by line as it is read. A JSON manifest is parsed
 * whole, so it may have at most {@link MAX_JSON_MANIFEST_BYTES} bytes, and reading stops at
 * a string longer than a message can be.
 *
 * @throws ManifestError for a file that cannot be read, invalid JSON or CSV, or an invalid field.
 */
export async function readManifest(path: string): Promise<Manifest> {
  if (extname(path).toLowerCase() === '.csv') {
    const reader = new CsvManifestReader(path, dirname(path));
    await readManifestText(path, (text) => reader.write(text));
    return reader.end();
  }

  const pieces: string[] = [];
  const strings = new JsonStringLimit(MAX_MESSAGE_BYTES);
  await readManifestText(
    path,
    (text) => {
      checkJsonStrings(strings, text, path);
      pieces.push(text);
    },
    (size) => checkJsonManifestSize(path, size),
  );
  return parseManifest(pieces.join(''), path, dirname(path));
}

/**
 * Stops reading a JSON manifest at a string longer than a message can be, because no field of
 * a manifest is longer, instead of reading on to the end.
 */
function checkJsonStrings(strings: JsonStringLimit, text: string, path: string): void {
  try {
    strings.write(text);
  } catch (error) {
    if (error instanceof JsonStringTooLongError) {
      throw new ManifestError(
        `${path}:${error.line}:${error.column}: a string is longer than ${error.limit} bytes ` +
          'of UTF-8, the maximum for any field (the largest message the API accepts)',
      );
    }
    throw error;
  }
}

/**
 * Maximum size of a JSON manifest in bytes, because it is parsed as one string: the longest
 * string Node.js can hold, 2^29 - 24 UTF-16 code units in Node.js 20 on 64-bit platforms. A
 * file of N bytes of UTF-8 decodes to at most N code units.
 */
export const MAX_JSON_MANIFEST_BYTES = MAX_STRING_LENGTH;

function checkJsonManifestSize(path: string, size: number): void {
  if (size > MAX_JSON_MANIFEST_BYTES) {
    throw new ManifestError(
      `--manifest: ${path} has ${size} bytes; a JSON manifest can have at most ` +
        `${MAX_JSON_MANIFEST_BYTES}, so give a larger one as CSV or split it`,
    );
  }
}

/**
 * Parses and validates a manifest.
 *
 * Every field is checked:
 * - `recipients` is a non-empty array;
 * - each recipient has a valid `email`, unique after normalization, and a
 *   non-empty `boxes` array;
 * - each box has a `title` that the API accepts (`findBoxTitleProblem`: 1 to
 *   200 characters, no control character) and a non-empty `messages` array;
 * - each message is a non-empty string or `{ "file": "path" }`, a UTF-8 text
 *   file of at most `MAX_MESSAGE_BYTES` bytes read relative to `baseDirectory`.
 *
 * Unknown fields are rejected, so a misspelled field is not silently ignored.
 *
 * @param text - the manifest text.
 * @param fileName - the name used at the start of error messages.
 * @param baseDirectory - the directory message files are read from, `.` by default.
 * @throws ManifestError with one line per problem, each naming its line, column and
 *   field, after checking the whole manifest. A JSON syntax error stops the check, so the
 *   error names only that one.
 */
export function parseManifest(text: string, fileName: string, baseDirectory = '.'): Manifest {
  try {
    return parseManifestFields(text, fileName, baseDirectory);
  } catch (error) {
    // Both JSON parsers and the field checks recurse once per nesting level,
    // so arrays or objects nested tens of thousands deep exhaust the stack.
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new ManifestError(
        `${fileName}: invalid JSON: arrays or objects are nested too deeply; expected the manifest format`,
      );
    }
    throw error;
  }
}

/**
 * The problems found in a JSON manifest, each named by its JSON path. `report` records a
 * problem and checking goes on; `fail` records one and skips the rest of the value being
 * checked, up to the nearest {@link skipInvalid}.
 */
class JsonProblems {
  readonly #found: { path: JsonPath; problem: string }[] = [];

  report(path: JsonPath, problem: string): void {
    this.#found.push({ path, problem });
  }

  fail(path: JsonPath, problem: string): never {
    this.report(path, problem);
    throw SKIP_INVALID;
  }

  /**
   * Throws a {@link ManifestError} listing the problems, if there are any, each as
   * `file:line:column: path: problem` with the position of its value in `text`.
   */
  throwIfAny(text: string, fileName: string): void {
    if (this.#found.length === 0) {
      return;
    }

    const positions = new TextPositions(text);
    const offsets = findValueOffsets(
      text,
      this.#found.map(({ path }) => path),
    );
    const problems = new ManifestProblems();
    for (const [index, { path, problem }] of this.#found.entries()) {
      const { line, column } = positions.locate(offsets[index] as number);
      problems.add(`${fileName}:${line}:${column}: ${formatPath(path)}: ${problem}`);
    }
    problems.throwIfAny();
  }
}

/** Thrown by {@link JsonProblems.fail} and caught by the nearest {@link skipInvalid}. */
const SKIP_INVALID = Symbol('skip invalid value');

/** Runs `check` and returns its result, or `undefined` when it failed on a recorded problem. */
function skipInvalid<T>(check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    if (error === SKIP_INVALID) {
      return undefined;
    }
    throw error;
  }
}

function parseManifestFields(text: string, fileName: string, baseDirectory: string): Manifest {
  const value = parseJson(text, fileName);
  const problems = new JsonProblems();

  const manifest = skipInvalid(() => {
    const top = expectObject(value, [], ['recipients'], problems);
    const recipients = expectNonEmptyArray(top.recipients, ['recipients'], 'recipient', problems);
    return parseRecipients(recipients, baseDirectory, problems);
  });

  problems.throwIfAny(text, fileName);
  // A value is skipped only after its problem was recorded, so here nothing was skipped.
  return manifest as Manifest;
}

function parseRecipients(
  recipients: readonly unknown[],
  baseDirectory: string,
  problems: JsonProblems,
): Manifest {
  const seenEmails = new Map<string, number>();
  const manifest: Manifest = { recipients: [] };

  for (const [index, recipientValue] of recipients.entries()) {
    const path = ['recipients', index];
    const parsed = skipInvalid(() => {
      const recipient = expectObject(recipientValue, path, ['email', 'boxes'], problems);

      const email = skipInvalid(() => {
        const text = expectNonEmptyString(recipient.email, [...path, 'email'], problems);
        const normalized = normalizeOrFail(text, [...path, 'email'], problems);
        const earlier = seenEmails.get(normalized);
        if (earlier !== undefined) {
          problems.fail(
            [...path, 'email'],
            `duplicate of recipients[${earlier}].email; list each recipient once`,
          );
        }
        seenEmails.set(normalized, index);
        return text;
      });

      const boxValues = expectNonEmptyArray(recipient.boxes, [...path, 'boxes'], 'box', problems);
      const boxes = boxValues.map((box, boxIndex) =>
        skipInvalid(() => parseBox(box, [...path, 'boxes', boxIndex], baseDirectory, problems)),
      );
      return email !== undefined && allDefined(boxes) ? { email, boxes } : undefined;
    });

    if (parsed !== undefined) {
      manifest.recipients.push(parsed);
    }
  }

  return manifest;
}

function parseBox(
  value: unknown,
  path: JsonPath,
  baseDirectory: string,
  problems: JsonProblems,
): BoxContent | undefined {
  const box = expectObject(value, path, ['title', 'messages'], problems);

  const title = skipInvalid(() => {
    const text = expectNonEmptyString(box.title, [...path, 'title'], problems);
    const titleProblem = findBoxTitleProblem(text);
    return titleProblem === undefined ? text : problems.fail([...path, 'title'], titleProblem);
  });

  const messageValues = expectNonEmptyArray(
    box.messages,
    [...path, 'messages'],
    'message',
    problems,
  );
  const messages = messageValues.map((message, index) =>
    skipInvalid(() => parseMessage(message, [...path, 'messages', index], baseDirectory, problems)),
  );

  return title !== undefined && allDefined(messages) ? { title, messages } : undefined;
}

function allDefined<T>(values: (T | undefined)[]): values is T[] {
  return values.every((value) => value !== undefined);
}

function parseMessage(
  value: unknown,
  path: JsonPath,
  baseDirectory: string,
  problems: JsonProblems,
): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return readFileMessage(value, path, baseDirectory, problems);
  }

  const text = expectNonEmptyString(value, path, problems);
  const messageProblem = findMessageProblem(text);
  return messageProblem === undefined ? text : problems.fail(path, messageProblem);
}

function readFileMessage(
  value: object,
  path: JsonPath,
  baseDirectory: string,
  problems: JsonProblems,
): string {
  const message = expectObject(value, path, ['file'], problems);
  const file = expectNonEmptyString(message.file, [...path, 'file'], problems);

  const result = readMessageFile(file, baseDirectory);
  if ('problem' in result) {
    return problems.fail([...path, 'file'], result.problem);
  }
  return result.text;
}

/**
 * Returns `value` as an object, or fails when it is not one. Each unknown field is reported
 * and checking goes on, so a misspelled field and the problems it causes are listed together.
 */
function expectObject(
  value: unknown,
  path: JsonPath,
  fields: readonly string[],
  problems: JsonProblems,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return problems.fail(
      path,
      `expected an object with ${fields.map((field) => `"${field}"`).join(' and ')}`,
    );
  }

  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) {
      problems.report(
        [...path, key],
        `unknown field; expected only ${fields.map((field) => `"${field}"`).join(' and ')}`,
      );
    }
  }

  return value as Record<string, unknown>;
}

function expectNonEmptyArray(
  value: unknown,
  path: JsonPath,
  itemName: string,
  problems: JsonProblems,
): unknown[] {
  if (!Array.isArray(value)) {
    return problems.fail(path, `expected an array with at least one ${itemName}`);
  }
  if (value.length === 0) {
    return problems.fail(path, `expected at least one ${itemName}, received an empty array`);
  }

  return value;
}

function expectNonEmptyString(value: unknown, path: JsonPath, problems: JsonProblems): string {
  if (typeof value !== 'string' || value.trim() === '') {
    return problems.fail(path, 'expected a non-empty string');
  }

  return value;
}

function normalizeOrFail(email: string, path: JsonPath, problems: JsonProblems): string {
  try {
    return normalizeEmail(email);
  } catch (error) {
    return problems.fail(path, (error as Error).message);
  }
}

const JSON_OPTIONS = { disallowComments: true, allowTrailingComma: false };

/**
 * Parses `text` as JSON and returns its value. jsonc-parser's scanner checks it first, because
 * it gives the position of a syntax error and of a key given twice, which JSON.parse does not.
 * That check builds no tree, so memory stays with the text and the value.
 */
function parseJson(text: string, fileName: string): unknown {
  const syntax = checkJsonSyntax(text);

  if (syntax.error !== undefined) {
    const { error, offset } = syntax.error;
    const { line, column } = new TextPositions(text).locate(offset);
    // A file that is invalid from its first character and not named as JSON is probably not
    // JSON at all, such as a CSV manifest saved as people.txt.
    const hint =
      text.trim() !== '' && text.slice(0, offset).trim() === '' && !/\.json$/i.test(fileName)
        ? '; a manifest whose name does not end in .csv is read as JSON, so give a CSV manifest a name ending in .csv'
        : '';
    throw new ManifestError(
      `${fileName}:${line}:${column}: invalid JSON: ${describeParseError(error)}${hint}`,
    );
  }

  // JSON.parse would keep the last of two equal keys, so "email" given twice would silently
  // send to the second address.
  if (syntax.repeatedKey !== undefined) {
    const { name, offset } = syntax.repeatedKey;
    const { line, column } = new TextPositions(text).locate(offset);
    throw new ManifestError(
      `${fileName}:${line}:${column}: "${name}" is given twice in one object; give each field once`,
    );
  }

  try {
    return JSON.parse(text);
  } catch (error) {
    // The two parsers disagree only on rare inputs; JSON.parse decides, without a position.
    const reason = (error as Error).message.replace(/,? ".*" is not valid JSON$/s, '');
    throw new ManifestError(`${fileName}: invalid JSON: ${reason}`);
  }
}

/** Finds the first syntax error of `text`, and the first key given twice in one object. */
function checkJsonSyntax(text: string): {
  error?: { error: ParseErrorCode; offset: number };
  repeatedKey?: { name: string; offset: number };
} {
  const result: ReturnType<typeof checkJsonSyntax> = {};
  // The keys of each object being read, innermost last.
  const keys: Set<string>[] = [];

  visit(
    text,
    {
      onError: (error, offset) => {
        result.error ??= { error, offset };
      },
      onObjectBegin: () => {
        keys.push(new Set());
      },
      onObjectEnd: () => {
        keys.pop();
      },
      onObjectProperty: (name, offset) => {
        const seen = keys.at(-1);
        if (seen?.has(name)) {
          result.repeatedKey ??= { name, offset };
        }
        seen?.add(name);
      },
    },
    JSON_OPTIONS,
  );

  return result;
}

function describeParseError(error: ParseErrorCode): string {
  const words = printParseErrorCode(error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();

  return words;
}

/**
 * Finds where the value at each of `paths` starts in `text`, in one pass: the offset of its
 * property name for a value in an object, and of the value itself otherwise. A path that does
 * not exist, such as a missing field, gets the offset of its nearest existing parent. Arrays
 * and objects on no path are skipped, so the pass costs little beyond scanning the text.
 */
function findValueOffsets(text: string, paths: readonly JsonPath[]): number[] {
  const key = (path: JsonPath): string => JSON.stringify(path);
  const requestedKeys = new Set<string>();
  for (const path of paths) {
    for (let depth = 0; depth <= path.length; depth += 1) {
      requestedKeys.add(key(path.slice(0, depth)));
    }
  }

  const found = new Map<string, number>();
  const record = (path: JsonPath, offset: number): boolean => {
    const pathKey = key(path);
    if (!requestedKeys.has(pathKey)) {
      return false;
    }
    if (!found.has(pathKey)) {
      found.set(pathKey, offset);
    }
    return true;
  };
  // A value in an object is recorded at its property name, by onObjectProperty.
  const recordValue = (offset: number, path: JsonPath): boolean => {
    const last = path.at(-1);
    return last === undefined || typeof last === 'number'
      ? record(path, offset)
      : requestedKeys.has(key(path));
  };

  visit(
    text,
    {
      // Returning false skips the callbacks of the array's or object's contents, up to its
      // end callback, which jsonc-parser 3.3.1 counts only when one is given.
      onObjectEnd: () => undefined,
      onArrayEnd: () => undefined,
      onObjectBegin: (offset, _length, _line, _character, pathSupplier) =>
        recordValue(offset, pathSupplier()),
      onArrayBegin: (offset, _length, _line, _character, pathSupplier) =>
        recordValue(offset, pathSupplier()),
      onLiteralValue: (_value, offset, _length, _line, _character, pathSupplier) => {
        recordValue(offset, pathSupplier());
      },
      onObjectProperty: (name, offset, _length, _line, _character, pathSupplier) => {
        record([...pathSupplier(), name], offset);
      },
    },
    JSON_OPTIONS,
  );

  return paths.map((path) => {
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const offset = found.get(key(path.slice(0, depth)));
      if (offset !== undefined) {
        return offset;
      }
    }
    return 0;
  });
}

/**
 * The 1-based line and column of offsets in a text, columns counted in UTF-16 code units. The
 * offsets of the line starts are found once, on the first call, so that locating each of many
 * problems costs a binary search instead of a pass over the text.
 */
class TextPositions {
  readonly #text: string;
  #lineStarts: Uint32Array | undefined;

  constructor(text: string) {
    this.#text = text;
  }

  locate(offset: number): { line: number; column: number } {
    this.#lineStarts ??= findLineStarts(this.#text);
    const starts = this.#lineStarts;

    // The last line that starts at or before the offset; line 1 starts at 0.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if ((starts[middle] as number) <= offset) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }

    return { line: low + 1, column: offset - (starts[low] as number) + 1 };
  }
}

function findLineStarts(text: string): Uint32Array {
  // A JSON manifest has at most MAX_STRING_LENGTH (< 2^32) characters, so offsets fit.
  const starts = new Uint32Array(countLineFeeds(text) + 1);
  let line = 1;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    starts[line] = index + 1;
    line += 1;
  }
  return starts;
}

function formatPath(path: JsonPath): string {
  let formatted = '';
  for (const part of path) {
    if (typeof part === 'number') {
      formatted += `[${part}]`;
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) {
      formatted += formatted === '' ? part : `.${part}`;
    } else {
      formatted += `[${JSON.stringify(part)}]`;
    }
  }

  return formatted === '' ? 'manifest' : formatted;
}
