import {
  assertUint8Array,
  type Bytes,
  describeNumber,
  describeType,
  formatByteCount,
} from './bytes.js';
import { CryptoError } from './errors.js';
import { assertOptions } from './options.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// Maps an ASCII code to its 6-bit value, or -1 for characters outside the alphabet.
const DECODE_TABLE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) {
    table[ALPHABET.charCodeAt(i)] = i;
  }
  return table;
})();

/** Options of {@link decodeBase64Url}. */
export interface DecodeBase64UrlOptions {
  /** Exact number of bytes expected. The text must then have the matching character count. */
  length?: number | undefined;
  /** Field name used in error messages, such as `'public_key'`. Defaults to `'input'`. */
  name?: string | undefined;
}

/** Returns whether `value` is a non-negative safe integer, a possible byte count. */
function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Returns the number of unpadded base64url characters that encode `byteLength` bytes:
 * 4 characters per 3 bytes, plus 2 for one leftover byte or 3 for two.
 *
 * @param byteLength - a byte count, a non-negative safe integer.
 * @returns the character count: 43 for 32 bytes, 44 for 33, 86 for 64.
 * @throws CryptoError `ERR_INVALID_TYPE` if `byteLength` is not a number;
 *   `ERR_INVALID_LENGTH` if it is negative, not an integer, NaN or above
 *   `Number.MAX_SAFE_INTEGER`.
 * @example
 * ```ts
 * import { base64UrlLength, SHARE_LENGTH } from '@provisions/crypto';
 *
 * base64UrlLength(SHARE_LENGTH); // 44, the length of the share in an invitation link
 * ```
 */
export function base64UrlLength(byteLength: number): number {
  if (typeof byteLength !== 'number') {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `byteLength: expected a non-negative integer, received ${describeType(byteLength)}`,
    );
  }

  if (!isByteCount(byteLength)) {
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `byteLength: expected a non-negative integer, received ${byteLength}`,
    );
  }

  const remainder = byteLength % 3;
  return Math.floor(byteLength / 3) * 4 + (remainder === 0 ? 0 : remainder + 1);
}

/**
 * Encodes bytes as unpadded URL-safe base64 (RFC 4648 §5): alphabet `A-Z a-z 0-9 - _`,
 * no `=` padding, no line breaks.
 *
 * @param bytes - any Uint8Array, including a Buffer or a view at any offset; not modified.
 * @returns the text, `ceil(4 * bytes.length / 3)` characters long: 43 for a 32-byte key,
 *   44 for a 33-byte share, 86 for a 64-byte hash.
 * @throws CryptoError `ERR_INVALID_TYPE` if `bytes` is not a Uint8Array.
 * @example
 * ```ts
 * import { encodeBase64Url } from '@provisions/crypto';
 *
 * encodeBase64Url(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  assertUint8Array(bytes, 'bytes');

  let text = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const group =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text += ALPHABET.charAt(group >> 18);
    text += ALPHABET.charAt((group >> 12) & 63);
    text += ALPHABET.charAt((group >> 6) & 63);
    text += ALPHABET.charAt(group & 63);
  }

  const remainder = bytes.length - i;
  if (remainder === 1) {
    const group = (bytes[i] as number) << 16;
    text += ALPHABET.charAt(group >> 18);
    text += ALPHABET.charAt((group >> 12) & 63);
  } else if (remainder === 2) {
    const group = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    text += ALPHABET.charAt(group >> 18);
    text += ALPHABET.charAt((group >> 12) & 63);
    text += ALPHABET.charAt((group >> 6) & 63);
  }

  return text;
}

function describeInvalidCharacter(character: string): string {
  if (character === '=') {
    return "padding '=' is not allowed";
  }

  if (character === '+' || character === '/') {
    return "'+' and '/' belong to standard base64, base64url uses '-' and '_'";
  }

  if (/\s/.test(character)) {
    return 'whitespace is not allowed';
  }

  return 'character outside the base64url alphabet';
}

function readOptions(options: DecodeBase64UrlOptions | undefined): {
  name: string;
  length: number | undefined;
} {
  assertOptions(options);

  const name = options?.name ?? 'input';
  if (typeof name !== 'string') {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `options.name: expected a string, received ${describeType(name)}`,
    );
  }

  const length = options?.length;
  if (length !== undefined && !isByteCount(length)) {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `options.length: expected a non-negative integer, received ${describeNumber(length)}`,
    );
  }

  return { name, length };
}

/**
 * Decodes strict unpadded URL-safe base64 (RFC 4648 §5).
 *
 * Rejects `=` padding, `+` and `/`, whitespace, any other character outside the alphabet,
 * a length of 4k+1 characters, and non-canonical text whose last character has non-zero
 * unused bits (so each byte string has exactly one accepted encoding). Messages name
 * `options.name` and the position or the expected length, never the text itself, because
 * the text may encode a secret such as a key share.
 *
 * @param text - the base64url text.
 * @param options - `length`: exact byte count expected; `name`: field name for messages.
 * @returns the decoded bytes, a new plain Uint8Array.
 * @throws CryptoError `ERR_INVALID_TYPE` if `text` is not a string; `ERR_INVALID_BASE64URL`
 *   for a bad character, an impossible length or non-canonical trailing bits;
 *   `ERR_INVALID_LENGTH` if `options.length` is set and the character count does not match
 *   it; `ERR_INVALID_OPTION` for a bad `options` value; `ERR_INVALID_TYPE` if `options` is
 *   neither an object nor undefined.
 * @example
 * ```ts
 * import { decodeBase64Url, PUBLIC_KEY_LENGTH } from '@provisions/crypto';
 *
 * const publicKey = decodeBase64Url(body.public_key, {
 *   length: PUBLIC_KEY_LENGTH,
 *   name: 'public_key',
 * });
 * // on a 42-character value, throws:
 * // "public_key: expected 43 base64url characters (32 bytes), received 42"
 * ```
 */
export function decodeBase64Url(
  text: string,
  options?: DecodeBase64UrlOptions,
): Uint8Array<ArrayBuffer> {
  const { name, length } = readOptions(options);

  if (typeof text !== 'string') {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `${name}: expected a base64url string, received ${describeType(text)}`,
    );
  }

  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || (DECODE_TABLE[code] as number) < 0) {
      throw new CryptoError(
        'ERR_INVALID_BASE64URL',
        `${name}: invalid base64url at index ${i}: ${describeInvalidCharacter(text.charAt(i))}`,
      );
    }
  }

  if (length !== undefined && text.length !== base64UrlLength(length)) {
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `${name}: expected ${base64UrlLength(length)} base64url characters (${formatByteCount(length)}), received ${text.length}`,
    );
  }

  const remainder = text.length % 4;
  if (remainder === 1) {
    throw new CryptoError(
      'ERR_INVALID_BASE64URL',
      `${name}: invalid base64url length ${text.length}, no byte string encodes to 4k+1 characters`,
    );
  }

  return decodeValidated(text, name);
}

// Decodes text that contains only alphabet characters and whose length is not 4k+1.
function decodeValidated(text: string, name: string): Bytes {
  const value = (index: number): number => DECODE_TABLE[text.charCodeAt(index)] as number;
  const remainder = text.length % 4;
  const fullGroupsEnd = text.length - remainder;
  const bytes = new Uint8Array((fullGroupsEnd / 4) * 3 + (remainder === 0 ? 0 : remainder - 1));

  let out = 0;
  for (let i = 0; i < fullGroupsEnd; i += 4) {
    const group = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    bytes[out++] = group >> 16;
    bytes[out++] = (group >> 8) & 0xff;
    bytes[out++] = group & 0xff;
  }

  // Two trailing characters carry 12 bits for 1 byte, three carry 18 bits for 2 bytes.
  // The leftover low bits (4 or 2) must be zero for the encoding to be canonical.
  if (remainder === 2) {
    const last = value(fullGroupsEnd + 1);
    if ((last & 0x0f) !== 0) {
      throw nonCanonical(name);
    }
    bytes[out] = (value(fullGroupsEnd) << 2) | (last >> 4);
  } else if (remainder === 3) {
    const last = value(fullGroupsEnd + 2);
    if ((last & 0x03) !== 0) {
      throw nonCanonical(name);
    }
    const group = (value(fullGroupsEnd) << 12) | (value(fullGroupsEnd + 1) << 6) | last;
    bytes[out++] = group >> 10;
    bytes[out] = (group >> 2) & 0xff;
  }

  return bytes;
}

function nonCanonical(name: string): CryptoError {
  return new CryptoError(
    'ERR_INVALID_BASE64URL',
    `${name}: non-canonical base64url, the unused low bits of the last character must be zero`,
  );
}
