import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a file whose content becomes one message: UTF-8 text of 1 to
 * `MAX_MESSAGE_BYTES` (262,452) bytes, the largest message the API accepts.
 * A relative path is resolved against `baseDirectory`, the manifest's directory.
 *
 * @returns the text, or a problem description (not thrown, so the caller can
 *   place it at the manifest field).
 */
export function readMessageFile(
  path: string,
  baseDirectory: string,
): { text: string } | { problem: string } {
  const fullPath = isAbsolute(path) ? path : resolve(baseDirectory, path);

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
