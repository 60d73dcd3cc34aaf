import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';

import { base64UrlLength, decodeBase64Url, encodeBase64Url } from '../src/base64url.js';
import { CryptoError } from '../src/errors.js';

// RFC 4648 §10 test vectors with the padding removed, as §5 base64url without padding
// encodes them (none of them contains '+' or '/').
const RFC_4648_VECTORS = [
  ['', ''],
  ['f', 'Zg'],
  ['fo', 'Zm8'],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg'],
  ['fooba', 'Zm9vYmE'],
  ['foobar', 'Zm9vYmFy'],
] as const;

// Bytes whose standard base64 contains '+' or '/', to exercise '-' and '_'.
const URL_SAFE_VECTORS = [
  [[0xfb, 0xff], '-_8'],
  [[0xfa], '-g'],
  [[0xff, 0xff, 0xff], '____'],
  [[0xf8, 0x3e, 0x0f], '-D4P'],
] as const;

function decodeError(text: unknown, options?: { length?: number; name?: string }): CryptoError {
  try {
    decodeBase64Url(text as string, options);
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error('expected decodeBase64Url to throw');
}

beforeAll(async () => {
  await sodium.ready;
});

describe('encodeBase64Url and decodeBase64Url', () => {
  it.each(RFC_4648_VECTORS)('RFC 4648 vector "%s" is %s', (text, encoded) => {
    const bytes = new TextEncoder().encode(text);

    expect(encodeBase64Url(bytes)).toBe(encoded);
    expect(decodeBase64Url(encoded)).toEqual(bytes);
  });

  it.each(URL_SAFE_VECTORS)('bytes %j are %s', (values, encoded) => {
    const bytes = Uint8Array.from(values);

    expect(encodeBase64Url(bytes)).toBe(encoded);
    expect(decodeBase64Url(encoded)).toEqual(bytes);
  });

  it('round-trips any bytes and matches libsodium', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = encodeBase64Url(bytes);

        expect(encoded).toHaveLength(base64UrlLength(bytes.length));
        expect(encoded).toBe(sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING));
        expect(decodeBase64Url(encoded, { length: bytes.length })).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts only the one canonical encoding of each byte string', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');
    const text = fc
      .array(fc.constantFrom(...alphabet), { maxLength: 40 })
      .map((characters) => characters.join(''))
      .filter((candidate) => candidate.length % 4 !== 1);

    fc.assert(
      fc.property(text, (candidate) => {
        let decoded: Uint8Array;
        try {
          decoded = decodeBase64Url(candidate);
        } catch (error) {
          expect(error).toMatchObject({ code: 'ERR_INVALID_BASE64URL' });
          expect((error as Error).message).toContain('non-canonical');
          return;
        }
        expect(encodeBase64Url(decoded)).toBe(candidate);
      }),
      { numRuns: 500 },
    );
  });

  it('gives 43, 44 and 86 characters for keys, shares and hashes', () => {
    expect(encodeBase64Url(new Uint8Array(32))).toHaveLength(43);
    expect(encodeBase64Url(new Uint8Array(33))).toHaveLength(44);
    expect(encodeBase64Url(new Uint8Array(64))).toHaveLength(86);
  });
});

describe('decodeBase64Url rejects', () => {
  it.each([
    ['Zg==', "input: invalid base64url at index 2: padding '=' is not allowed"],
    [
      '+g',
      "input: invalid base64url at index 0: '+' and '/' belong to standard base64, base64url uses '-' and '_'",
    ],
    [
      'Zm9/',
      "input: invalid base64url at index 3: '+' and '/' belong to standard base64, base64url uses '-' and '_'",
    ],
    ['Zm 9v', 'input: invalid base64url at index 2: whitespace is not allowed'],
    ['Zm9v\n', 'input: invalid base64url at index 4: whitespace is not allowed'],
    ['\tZm9v', 'input: invalid base64url at index 0: whitespace is not allowed'],
    ['Zm9v*', 'input: invalid base64url at index 4: character outside the base64url alphabet'],
    ['Zm9vé', 'input: invalid base64url at index 4: character outside the base64url alphabet'],
  ])('%j', (text, message) => {
    const error = decodeError(text);

    expect(error.code).toBe('ERR_INVALID_BASE64URL');
    expect(error.message).toBe(message);
  });

  it.each([
    // One byte: 2 characters, the last with 4 unused low bits.
    'Zh',
    'Zv',
    // Two bytes: 3 characters, the last with 2 unused low bits.
    'Zm9',
    'Zm_',
  ])('non-canonical %s', (text) => {
    const error = decodeError(text, { name: 'share' });

    expect(error.code).toBe('ERR_INVALID_BASE64URL');
    expect(error.message).toBe(
      'share: non-canonical base64url, the unused low bits of the last character must be zero',
    );
  });

  it('a length of 4k+1 characters', () => {
    const error = decodeError('Zm9vY');

    expect(error.code).toBe('ERR_INVALID_BASE64URL');
    expect(error.message).toBe(
      'input: invalid base64url length 5, no byte string encodes to 4k+1 characters',
    );
  });

  it.each([42, 44])('a %i-character public key', (length) => {
    const error = decodeError('A'.repeat(length), { length: 32, name: 'public_key' });

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe(
      `public_key: expected 43 base64url characters (32 bytes), received ${length}`,
    );
  });

  it('a 3-character value where 1 byte is expected', () => {
    const error = decodeError('AAA', { length: 1, name: 'flag' });

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('flag: expected 2 base64url characters (1 byte), received 3');
  });

  it('a padded public key by its padding, before its length', () => {
    const padded = `${encodeBase64Url(new Uint8Array(32))}=`;

    const error = decodeError(padded, { length: 32, name: 'public_key' });

    expect(error.code).toBe('ERR_INVALID_BASE64URL');
    expect(error.message).toBe(
      "public_key: invalid base64url at index 43: padding '=' is not allowed",
    );
  });

  it.each([
    [42, 'input: expected a base64url string, received a number'],
    [null, 'input: expected a base64url string, received null'],
    [new Uint8Array(3), 'input: expected a base64url string, received an instance of Uint8Array'],
  ])('a non-string %o', (value, message) => {
    const error = decodeError(value);

    expect(error.code).toBe('ERR_INVALID_TYPE');
    expect(error.message).toBe(message);
  });

  it.each([-1, 1.5, Number.NaN])('options.length %s', (length) => {
    const error = decodeError('AAAA', { length });

    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe(
      `options.length: expected a non-negative integer, received ${String(length)}`,
    );
  });

  it.each([
    ['32', 'a string'],
    [null, 'null'],
  ])('options.length %o by its type', (length, received) => {
    const error = decodeError('AAAA', { length: length as unknown as number });

    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe(
      `options.length: expected a non-negative integer, received ${received}`,
    );
  });

  it('options.name that is not a string', () => {
    const error = decodeError('AAAA', { name: 5 as unknown as string });

    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe('options.name: expected a string, received a number');
  });

  it('never echoes the text in its message', () => {
    const secretLooking = 'c2VjcmV0LXNoYXJl-bad*';

    const error = decodeError(secretLooking, { name: 'user_key_share' });

    expect(error.message).not.toContain('c2VjcmV0');
  });
});

describe('base64UrlLength', () => {
  it.each([
    [0, 0],
    [1, 2],
    [2, 3],
    [3, 4],
    [32, 43],
    [33, 44],
    [64, 86],
  ])('of %i bytes is %i characters', (byteLength, characters) => {
    expect(base64UrlLength(byteLength)).toBe(characters);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'rejects byte count %s',
    (byteLength) => {
      expect(() => base64UrlLength(byteLength)).toThrow(
        expect.objectContaining({
          name: 'CryptoError',
          code: 'ERR_INVALID_LENGTH',
          message: `byteLength: expected a non-negative integer, received ${byteLength}`,
        }),
      );
    },
  );

  it.each([
    ['32', 'a string'],
    [undefined, 'undefined'],
    [null, 'null'],
  ])('rejects %o by its type', (byteLength, received) => {
    expect(() => base64UrlLength(byteLength as unknown as number)).toThrow(
      expect.objectContaining({
        name: 'CryptoError',
        code: 'ERR_INVALID_TYPE',
        message: `byteLength: expected a non-negative integer, received ${received}`,
      }),
    );
  });
});

describe('encodeBase64Url input checks', () => {
  it('rejects a string', () => {
    expect(() => encodeBase64Url('abc' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_TYPE',
        message: 'bytes: expected a Uint8Array, received a string',
      }),
    );
  });
});
