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
