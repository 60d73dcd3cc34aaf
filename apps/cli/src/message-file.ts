import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a file whose content becomes one message: UTF-8 text of 1 to
 * `MAX_MESSAGE_BYTES` (262,452) bytes, the largest message the API accepts.
 * The path is relative to `baseDirectory`, the manifest's directory, and must
 * stay inside it, so a manifest made elsewhere cannot send any file of the machine.
 *
 * @returns the text, or a problem description (not thrown, so the caller can
 *   place it at the manifest field).
 */
export function readMessageFile(
  path: string,
  baseDirectory: string,
): { text: string } | { problem: string } {
  const fullPath = resolve(baseDirectory, path);
  const inside = relative(resolve(baseDirectory), fullPath);
  if (isAbsolute(path) || inside === '' || inside === '..' || inside.startsWith(`..${sep}`)) {
    return {
      problem: `file ${path} is outside the manifest's directory; expected a relative path inside it`,
    };
  }

  let bytes: Buffer;
  try {
    bytes = readFileSync(fullPath);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    return { problem: `cannot read file ${fullPath} (${code})` };
  }

  if (bytes.length === 0) {
    return { problem: `file ${fullPath} is empty; expected a non-empty text file` };
  }
  if (bytes.length > MAX_MESSAGE_BYTES) {
    return {
      problem: `file ${fullPath} has ${bytes.length} bytes; expected at most ${MAX_MESSAGE_BYTES}`,
    };
  }

  try {
    return { text: utf8Decoder.decode(bytes) };
  } catch {
    return { problem: `file ${fullPath} is not valid UTF-8 text` };
  }
}
