import { describe, expect, expectTypeOf, it } from 'vitest';

import { CRYPTO_ERROR_CODES, CryptoError, isCryptoError } from '../src/errors.js';
import { open } from '../src/seal.js';

/**
 * What another copy of the package throws: a class with the same constructor body but
 * its own identity, so `instanceof CryptoError` is false for its instances.
 */
class OtherCopyCryptoError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

describe('isCryptoError', () => {
  it('accepts errors the package throws', async () => {
    const error = await open(new Uint8Array(48), new Uint8Array(32)).catch((caught) => caught);

    expect(error).toBeInstanceOf(CryptoError);
    expect(isCryptoError(error)).toBe(true);
  });

  it.each(CRYPTO_ERROR_CODES)('accepts %s from another copy', (code) => {
    const error = new OtherCopyCryptoError(code, 'open failed');

    expect(error).not.toBeInstanceOf(CryptoError);
    expect(isCryptoError(error)).toBe(true);
  });

  it.each([
    ['an Error', new Error('open failed')],
    ['an unknown code', new OtherCopyCryptoError('ERR_NOT_A_CODE', 'x')],
    ['another error name', Object.assign(new Error('x'), { code: 'ERR_OPEN_FAILED' })],
    ['a plain object', { name: 'CryptoError', code: 'ERR_OPEN_FAILED', message: 'x' }],
    ['a string', 'CryptoError'],
    ['undefined', undefined],
    ['null', null],
  ])('rejects %s', (_kind, value) => {
    expect(isCryptoError(value)).toBe(false);
  });

  it('narrows to CryptoError', () => {
    const caught: unknown = new CryptoError('ERR_OPEN_FAILED', 'open failed');

    if (isCryptoError(caught)) {
      expectTypeOf(caught.code).toEqualTypeOf<(typeof CRYPTO_ERROR_CODES)[number]>();
      expect(caught.code).toBe('ERR_OPEN_FAILED');
    } else {
      expect.unreachable('a CryptoError was not recognized');
    }
  });
});
