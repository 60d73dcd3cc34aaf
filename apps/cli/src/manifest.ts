import { readFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';

import { normalizeEmail } from '@provisions/api';
import { type BoxContent, findBoxTitleProblem, findMessageProblem } from '@provisions/core';
import {
  findNodeAtLocation,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';

import { parseCsvManifest } from './manifest-csv.js';
import { ManifestError } from './manifest-error.js';
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

/**
 * Reads and validates the manifest at `path`: CSV when the name ends in
 * `.csv`, JSON otherwise. Message files are read relative to the manifest's
 * directory.
 *
 * @throws ManifestError for a file that cannot be read, invalid JSON or CSV, or an invalid field.
 */
export async function readManifest(path: string): Promise<Manifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new ManifestError(`${path}: cannot read the manifest (${code})`);
  }
  const text = decodeUtf8(bytes, path);

  if (extname(path).toLowerCase() === '.csv') {
    return parseCsvManifest(text, path, dirname(path));
  }
  return parseManifest(text, path, dirname(path));
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
 * @throws ManifestError naming the line, column and field of the first problem.
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

function parseManifestFields(text: string, fileName: string, baseDirectory: string): Manifest {
  const root = parseJson(text, fileName);
  const fail = (path: JsonPath, problem: string): never => {
    throw new ManifestError(
      `${locate(text, fileName, root, path)}: ${formatPath(path)}: ${problem}`,
    );
  };

  const value: unknown = JSON.parse(text);
  const top = expectObject(value, [], ['recipients'], fail);
  const recipients = expectNonEmptyArray(top.recipients, ['recipients'], 'recipient', fail);

  const seenEmails = new Map<string, number>();
  const manifest: Manifest = { recipients: [] };

  for (const [index, recipientValue] of recipients.entries()) {
    const path = ['recipients', index];
    const recipient = expectObject(recipientValue, path, ['email', 'boxes'], fail);

    const email = expectNonEmptyString(recipient.email, [...path, 'email'], fail);
    const normalized = normalizeOrFail(email, [...path, 'email'], fail);
    const earlier = seenEmails.get(normalized);
    if (earlier !== undefined) {
      fail(
        [...path, 'email'],
        `duplicate of recipients[${earlier}].email; list each recipient once`,
      );
    }
    seenEmails.set(normalized, index);

    const boxes = expectNonEmptyArray(recipient.boxes, [...path, 'boxes'], 'box', fail).map(
      (box, boxIndex) => parseBox(box, [...path, 'boxes', boxIndex], baseDirectory, fail),
    );

    manifest.recipients.push({ email, boxes });
  }

  return manifest;
}

function parseBox(
  value: unknown,
  path: JsonPath,
  baseDirectory: string,
  fail: (path: JsonPath, problem: string) => never,
): BoxContent {
  const box = expectObject(value, path, ['title', 'messages'], fail);

  const title = expectNonEmptyString(box.title, [...path, 'title'], fail);
  const titleProblem = findBoxTitleProblem(title);
  if (titleProblem !== undefined) {
    fail([...path, 'title'], titleProblem);
  }

  const messages = expectNonEmptyArray(box.messages, [...path, 'messages'], 'message', fail).map(
    (message, index) => {
      if (typeof message === 'object' && message !== null && !Array.isArray(message)) {
        return readFileMessage(message, [...path, 'messages', index], baseDirectory, fail);
      }
      const text = expectNonEmptyString(message, [...path, 'messages', index], fail);
      const messageProblem = findMessageProblem(text);
      if (messageProblem !== undefined) {
        fail([...path, 'messages', index], messageProblem);
      }
      return text;
    },
  );

  return { title, messages };
}

function readFileMessage(
  value: object,
  path: JsonPath,
  baseDirectory: string,
  fail: (path: JsonPath, problem: string) => never,
): string {
  const message = expectObject(value, path, ['file'], fail);
  const file = expectNonEmptyString(message.file, [...path, 'file'], fail);

  const result = readMessageFile(file, baseDirectory);
  if ('problem' in result) {
    return fail([...path, 'file'], result.problem);
  }
  return result.text;
}

function expectObject(
  value: unknown,
  path: JsonPath,
  fields: readonly string[],
  fail: (path: JsonPath, problem: string) => never,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(
      path,
      `expected an object with ${fields.map((field) => `"${field}"`).join(' and ')}`,
    );
  }

  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) {
      fail(
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
  fail: (path: JsonPath, problem: string) => never,
): unknown[] {
  if (!Array.isArray(value)) {
    return fail(path, `expected an array with at least one ${itemName}`);
  }
  if (value.length === 0) {
    return fail(path, `expected at least one ${itemName}, received an empty array`);
  }

  return value;
}

function expectNonEmptyString(
  value: unknown,
  path: JsonPath,
  fail: (path: JsonPath, problem: string) => never,
): string {
  if (typeof value !== 'string' || value.trim() === '') {
    return fail(path, 'expected a non-empty string');
  }

  return value;
}

function normalizeOrFail(
  email: string,
  path: JsonPath,
  fail: (path: JsonPath, problem: string) => never,
): string {
  try {
    return normalizeEmail(email);
  } catch (error) {
    return fail(path, (error as Error).message);
  }
}

function parseJson(text: string, fileName: string): Node | undefined {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });

  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineAndColumn(text, first.offset);
    throw new ManifestError(
      `${fileName}:${line}:${column}: invalid JSON: ${describeParseError(first)}`,
    );
  }

  if (root !== undefined) {
    rejectDuplicateKeys(root, text, fileName);
  }

  try {
    JSON.parse(text);
  } catch (error) {
    // The two parsers disagree only on rare inputs; JSON.parse decides, without a position.
    const reason = (error as Error).message.replace(/,? ".*" is not valid JSON$/s, '');
    throw new ManifestError(`${fileName}: invalid JSON: ${reason}`);
  }

  return root;
}

function describeParseError(error: ParseError): string {
  const words = printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();

  return words;
}

function locate(text: string, fileName: string, root: Node | undefined, path: JsonPath): string {
  let node: Node | undefined;
  for (let depth = path.length; depth >= 0 && node === undefined; depth -= 1) {
    node = root === undefined ? undefined : findNodeAtLocation(root, path.slice(0, depth));
  }

  // A rejected unknown field points at its property name, not its value.
  const target =
    node?.parent?.type === 'property' && node.parent.children?.[1] === node ? node.parent : node;
  const { line, column } = lineAndColumn(text, target?.offset ?? 0);

  return `${fileName}:${line}:${column}`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');

  return { line, column };
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

/**
 * Decodes a manifest as UTF-8, dropping a byte order mark, and rejects bytes
 * that are not UTF-8 instead of replacing them, which would change the data.
 */
function decodeUtf8(bytes: Uint8Array, fileName: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const lossy = lossyUtf8.decode(bytes);
    const line = lossy.slice(0, lossy.indexOf('\uFFFD')).split('\n').length;
    throw new ManifestError(
      `${fileName}:${line}: the manifest is not valid UTF-8 text; save it as UTF-8`,
    );
  }
}

/**
 * Rejects an object with the same key twice: JSON.parse would keep the last
 * one, so `"email"` given twice would silently send to the second address.
 */
function rejectDuplicateKeys(node: Node, text: string, fileName: string): void {
  if (node.type === 'object') {
    const seen = new Set<string>();
    for (const property of node.children ?? []) {
      const key = property.children?.[0];
      if (key === undefined) {
        continue;
      }
      const name = String(key.value);
      if (seen.has(name)) {
        const { line, column } = lineAndColumn(text, key.offset);
        throw new ManifestError(
          `${fileName}:${line}:${column}: "${name}" is given twice in one object; give each field once`,
        );
      }
      seen.add(name);
    }
  }
  for (const child of node.children ?? []) {
    rejectDuplicateKeys(child, text, fileName);
  }
}
