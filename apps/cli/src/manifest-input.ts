import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

import { countLineFeeds } from './csv.js';
import { describeFileError, describeNotRegularFile } from './file-error.js';
import { ManifestError } from './manifest-error.js';

/** Bytes read from the manifest file at a time. */
const READ_BYTES = 64 * 1024;

/**
 * Reads the manifest file at `path` in pieces of at most 64 KiB, and passes each piece to
 * `onText` as text, decoded as UTF-8 without a byte order mark at the start. Only a piece and
 * at most 3 bytes of a character cut off at its end are held, so memory does not grow with
 * the file. An error thrown by `onText` stops the reading and is thrown again.
 *
 * O_NONBLOCK keeps a named pipe from blocking the open, and the opened file must be a regular
 * file, so a named pipe, device or directory is rejected without reading it.
 *
 * @param checkSize - called with the file's size before anything is read; may throw.
 * @throws ManifestError for a file that cannot be read, is not a regular file, or is not
 *   valid UTF-8, naming the line of the first invalid byte.
 */
export async function readManifestText(
  path: string,
  onText: (text: string) => void,
  checkSize: (size: number) => void = () => undefined,
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw new ManifestError(`--manifest: ${describeFileError(path, cause)}`);
  }

  try {
    const stats = await handle.stat();
    const problem = describeNotRegularFile(path, stats, 'a regular text file');
    if (problem !== undefined) {
      throw new ManifestError(`--manifest: ${problem}`);
    }
    checkSize(stats.size);

    const decoder = new Utf8PieceDecoder(path);
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null);
      const text = decoder.decode(buffer.subarray(0, bytesRead), bytesRead === 0);
      if (text !== '') {
        onText(text);
      }
      if (bytesRead === 0) {
        return;
      }
    }
  } catch (cause) {
    if (cause instanceof ManifestError) {
      throw cause;
    }
    throw new ManifestError(`--manifest: ${describeFileError(path, cause)}`);
  } finally {
    await handle.close();
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Decodes a file's bytes as UTF-8, piece by piece, and rejects bytes that are not UTF-8
 * instead of replacing them, which would change the data. A character cut off at the end of
 * a piece is kept for the next one, so that each piece decodes on its own.
 */
class Utf8PieceDecoder {
  readonly #fileName: string;
  #carry: Buffer = Buffer.alloc(0);
  /** Line feeds in the text decoded so far. */
  #lineFeeds = 0;
  #first = true;

  constructor(fileName: string) {
    this.#fileName = fileName;
  }

  /** Decodes `bytes`, which the caller may overwrite afterwards; `last` ends the file. */
  decode(bytes: Uint8Array, last: boolean): string {
    const input = this.#carry.length === 0 ? bytes : Buffer.concat([this.#carry, bytes]);
    const complete = last ? input.length : input.length - cutOffLength(input);
    this.#carry = Buffer.from(input.subarray(complete));

    const piece = input.subarray(0, complete);
    let text: string;
    try {
      text = strictUtf8.decode(piece);
    } catch {
      const line = this.#lineFeeds + countLineFeedsBeforeInvalid(piece) + 1;
      throw new ManifestError(
        `${this.#fileName}:${line}: the manifest is not valid UTF-8 text; save it as UTF-8`,
      );
    }

    this.#lineFeeds += countLineFeeds(text);
    if (this.#first && text !== '') {
      this.#first = false;
      if (text.startsWith('\ufeff')) {
        return text.slice(1);
      }
    }
    return text;
  }
}

/**
 * Returns how many bytes at the end of `bytes` start a UTF-8 sequence that the end cuts off:
 * a lead byte in the last 3 bytes, followed by fewer continuation bytes than it announces.
 */
function cutOffLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] as number;
    if (byte < 0x80) {
      return 0;
    }
    if (byte >= 0xc0) {
      return sequenceLength(byte) > back ? back : 0;
    }
    // A continuation byte (0x80 to 0xBF): its lead byte is further back.
  }
  return 0;
}

/** Returns the length of the UTF-8 sequence that the lead byte `byte` (0xC0 or more) starts. */
function sequenceLength(byte: number): number {
  if (byte >= 0xf0) {
    return 4;
  }
  if (byte >= 0xe0) {
    return 3;
  }
  return 2;
}

/**
 * Counts the line feeds before the first byte of `bytes` that is not UTF-8. The lossy decoder
 * writes U+FFFD in its place, so the first U+FFFD that the bytes do not spell out as EF BF BD
 * marks it, and the text before it decoded byte for byte.
 */
function countLineFeedsBeforeInvalid(bytes: Uint8Array): number {
  const text = lossyUtf8.decode(bytes);
  let byteOffset = 0;
  let textOffset = 0;
  for (
    let index = text.indexOf('\ufffd');
    index !== -1;
    index = text.indexOf('\ufffd', index + 1)
  ) {
    byteOffset += Buffer.byteLength(text.slice(textOffset, index), 'utf8');
    textOffset = index;
    const spelled =
      bytes[byteOffset] === 0xef &&
      bytes[byteOffset + 1] === 0xbf &&
      bytes[byteOffset + 2] === 0xbd;
    if (!spelled) {
      return countLineFeeds(text.slice(0, index));
    }
  }
  return countLineFeeds(text);
}
