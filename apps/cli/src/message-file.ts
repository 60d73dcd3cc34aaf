import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';

import { describeFileError, describeFileKind } from './file-error.js';

// Without ignoreBOM, the decoder removes a byte order mark at the start, which editors on
// Windows write to mark a file as UTF-8 and which is no part of the message.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// O_NOFOLLOW makes the open fail if the checked path became a symbolic link
// since; O_NONBLOCK keeps a named pipe from blocking the open. Windows has
// neither flag, so they count as 0 there.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a file whose content becomes one message: UTF-8 text of 1 to
 * `MAX_MESSAGE_BYTES` (262,452) bytes, the largest message the API accepts. A byte order
 * mark at the start is removed.
 *
 * The path is relative to `baseDirectory`, the manifest's directory, and must
 * stay inside it, so a manifest made elsewhere cannot send any file of the
 * machine: symbolic links are resolved first and the real path must stay
 * inside the directory's real path. Only a regular file is read; a named
 * pipe, device, socket or directory is refused without reading it. The
 * opened file is checked again (`fstat`), so a file swapped after the checks
 * is caught too.
 *
 * @example readMessageFile('notes/ada.txt', 'manifests') // { text: '…' }
 * @returns the text, or a problem description (not thrown, so the caller can
 *   place it at the manifest field).
 */
export function readMessageFile(
  path: string,
  baseDirectory: string,
): { text: string } | { problem: string } {
  const fullPath = resolve(baseDirectory, path);
  if (!isAbsolute(path) && fullPath === resolve(baseDirectory)) {
    return { problem: `file ${path} is the manifest's directory; expected a regular text file` };
  }
  if (isAbsolute(path) || !isInside(resolve(baseDirectory), fullPath)) {
    return {
      problem: `file ${path} is outside the manifest's directory; expected a relative path inside it`,
    };
  }

  let realPath: string;
  let realBase: string;
  try {
    realPath = realpathSync(fullPath);
    realBase = realpathSync(resolve(baseDirectory));
  } catch (cause) {
    return { problem: `file ${describeFileError(fullPath, cause)}` };
  }
  if (realPath === realBase) {
    return {
      problem: `file ${path} links to the manifest's directory; expected a regular text file`,
    };
  }
  if (!isInside(realBase, realPath)) {
    return {
      problem: `file ${path} links to a path outside the manifest's directory; expected a file inside it`,
    };
  }

  let descriptor: number;
  try {
    descriptor = openSync(realPath, OPEN_FLAGS);
  } catch (cause) {
    return { problem: `file ${describeFileError(fullPath, cause)}` };
  }

  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) {
      return {
        problem: `file ${fullPath} is ${describeFileKind(stats)}; expected a regular text file`,
      };
    }
    if (stats.size === 0) {
      return { problem: `file ${fullPath} is empty; expected a non-empty text file` };
    }
    if (stats.size > MAX_MESSAGE_BYTES) {
      return {
        problem: `file ${fullPath} has ${stats.size} bytes; expected at most ${MAX_MESSAGE_BYTES}`,
      };
    }

    return decodeContent(readAtMost(descriptor, MAX_MESSAGE_BYTES + 1), fullPath);
  } catch (cause) {
    return { problem: `file ${describeFileError(fullPath, cause)}` };
  } finally {
    closeSync(descriptor);
  }
}

function decodeContent(
  bytes: Uint8Array,
  fullPath: string,
): { text: string } | { problem: string } {
  // The size is checked again on the bytes read: the file may grow after fstat.
  if (bytes.length === 0) {
    return { problem: `file ${fullPath} is empty; expected a non-empty text file` };
  }
  if (bytes.length > MAX_MESSAGE_BYTES) {
    return {
      problem: `file ${fullPath} has more than ${MAX_MESSAGE_BYTES} bytes; expected at most ${MAX_MESSAGE_BYTES}`,
    };
  }

  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    return { problem: `file ${fullPath} is not valid UTF-8 text` };
  }
  if (text === '') {
    return {
      problem: `file ${fullPath} contains only a byte order mark; expected a non-empty text file`,
    };
  }
  return { text };
}

function readAtMost(descriptor: number, limit: number): Uint8Array {
  const buffer = Buffer.alloc(limit);
  let filled = 0;
  while (filled < limit) {
    const count = readSync(descriptor, buffer, filled, limit - filled, null);
    if (count === 0) {
      break;
    }
    filled += count;
  }

  return buffer.subarray(0, filled);
}

function isInside(directory: string, path: string): boolean {
  const inside = relative(directory, path);
  return !(inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside));
}
