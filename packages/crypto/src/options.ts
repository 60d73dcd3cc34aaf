import { describeType } from './bytes.js';
import { CryptoError } from './errors.js';

/**
 * Throws unless `options` is undefined or an ordinary object: a plain object, one without
 * prototype or a class instance, but not an array, a function, a typed array or a Map.
 * Without this check, a string passed as the options would have its `length` read as an
 * option.
 *
 * @throws CryptoError `ERR_INVALID_TYPE` naming `options` and the received type.
 * @internal
 */
export function assertOptions(options: unknown): asserts options is object | undefined {
  if (options !== undefined && Object.prototype.toString.call(options) !== '[object Object]') {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `options: expected an object or undefined, received ${describeType(options)}`,
    );
  }
}

/**
 * Throws if `options` has an own key that is not in `accepted`, so that a misspelled option
 * in plain JavaScript, such as `treshold`, fails instead of leaving the default in place.
 *
 * @param functionName - the function whose options these are, for the message.
 * @throws CryptoError `ERR_INVALID_OPTION` naming the unknown keys and the accepted ones.
 * @internal
 */
export function assertKnownOptions(
  options: object | undefined,
  accepted: readonly string[],
  functionName: string,
): void {
  if (options === undefined) {
    return;
  }

  const unknown = Object.keys(options).filter((key) => !accepted.includes(key));
  if (unknown.length === 0) {
    return;
  }

  const names = unknown.map((key) => JSON.stringify(key)).join(', ');
  const noun = unknown.length === 1 ? 'option' : 'options';
  throw new CryptoError(
    'ERR_INVALID_OPTION',
    `options: unknown ${noun} ${names}; ${functionName} accepts ${accepted.join(' and ')}`,
  );
}
