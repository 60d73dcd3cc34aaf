import { describe, expect, it } from 'vitest';

import { decodeBase64Url } from '../src/base64url.js';
import { CryptoError } from '../src/errors.js';
import { encryptWithPassphrase } from '../src/passphrase.js';
import { SCRYPT_MIN_N } from '../src/passphrase-envelope.js';
import { splitSecret } from '../src/shares.js';

/** An exported function that takes an options object, and how to see the options applied. */
interface FunctionWithOptions {
  name: string;
  call: (options: unknown) => unknown;
  /** Valid options for `call`. */
  valid: object;
  /** Reads from a result the value that the options set. */
  measure: (result: never) => number;
  /** What `measure` reads with `valid`. */
  withValid: number;
  /** What `measure` reads without options. */
  withDefaults: number;
}

/** Every exported function that takes an options object. */
const FUNCTIONS_WITH_OPTIONS: FunctionWithOptions[] = [
  {
    name: 'decodeBase64Url',
    call: (options) => decodeBase64Url('AAAA', options as never),
    valid: { length: 3, name: 'public_key' },
    measure: (bytes: Uint8Array) => bytes.length,
    withValid: 3,
    withDefaults: 3,
  },
  {
    name: 'encryptWithPassphrase',
    call: (options) => encryptWithPassphrase(new Uint8Array(1), 'correct horse', options as never),
    valid: { scryptN: SCRYPT_MIN_N },
    // Byte 6 of the envelope header is log2 of the scrypt cost N.
    measure: (envelope: Uint8Array) => envelope[6] as number,
    withValid: 14,
    withDefaults: 17,
  },
  {
    name: 'splitSecret',
    call: (options) => splitSecret(new Uint8Array(32), options as never),
    valid: { shares: 3, threshold: 2 },
    measure: (shares: Uint8Array[]) => shares.length,
    withValid: 3,
    withDefaults: 2,
  },
];

/** Values that a JavaScript caller may pass in the place of the options, and their type. */
const NOT_OBJECTS: [unknown, string][] = [
  ['public_key', 'a string'],
  [5, 'a number'],
  [true, 'a boolean'],
  [null, 'null'],
  [[], 'an array'],
  [() => ({}), 'a function'],
  [new Uint8Array(2), 'an instance of Uint8Array'],
  [new Map([['length', 3]]), 'an instance of Map'],
];

class OptionsInstance {
  constructor(values: object) {
    Object.assign(this, values);
  }
}

/** Returns the error that `run` throws or rejects with. */
async function errorOf(run: () => unknown): Promise<CryptoError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error('expected the call to fail');
}

describe.each(FUNCTIONS_WITH_OPTIONS)('$name options', ({ call, valid, measure, ...expected }) => {
  it.each(NOT_OBJECTS)('rejects %o', async (options, received) => {
    const error = await errorOf(() => call(options));

    expect(error.code).toBe('ERR_INVALID_TYPE');
    expect(error.message).toBe(`options: expected an object or undefined, received ${received}`);
  });

  it('applies defaults without options', async () => {
    expect(measure((await call(undefined)) as never)).toBe(expected.withDefaults);
  });

  it.each([
    ['a plain object', () => ({ ...valid })],
    ['an object without prototype', () => Object.assign(Object.create(null), valid)],
    ['a class instance', () => new OptionsInstance(valid)],
  ])('accepts %s', async (_kind, makeOptions) => {
    expect(measure((await call(makeOptions())) as never)).toBe(expected.withValid);
  });
});
