import { CryptoError } from './errors.js';

/**
 * A Uint8Array over its own plain ArrayBuffer. Every byte array this package returns has
 * this shape, never a Node.js Buffer and never a view into a caller's memory.
 *
 * @internal
 */
export type Bytes = Uint8Array<ArrayBuffer>;

/**
 * Describes the type of a value for messages ("a string", "null"), never the value itself.
 *
 * @internal
 */
export function describeType(value: unknown): string {
  if (value === null) {
    return 'null';
  }

  if (Array.isArray(value)) {
    return 'an array';
  }

  if (typeof value === 'object') {
    const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof constructorName === 'string' && constructorName !== ''
      ? `an instance of ${constructorName}`
      : 'an object';
  }

  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

/**
 * Describes a value where a number is expected: a number as itself, since counts and cost
 * parameters are not secret, and anything else by its type ("a string").
 *
 * @internal
 */
export function describeNumber(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeType(value);
}

/** Formats a byte count for messages: "1 byte", "32 bytes". @internal */
export function formatByteCount(count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`;
}

// The getter of %TypedArray%.prototype[Symbol.toStringTag] returns the name of the typed
// array's internal slot, and undefined for any other value. Unlike `instanceof`, it accepts
// arrays made in another realm (an iframe, a worker, Node's vm), and it rejects a Proxy or
// an object that only inherits from Uint8Array.prototype, whose `length` getter would throw
// a TypeError. Node.js Buffer is a Uint8Array subclass and passes.
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayName.call(value) === 'Uint8Array';
}

/**
 * Copies a view into a fresh plain Uint8Array. Copying a view whose buffer was detached
 * (transferred, for example by `postMessage` or `structuredClone`) or whose resizable buffer
 * shrank below it throws a TypeError, which becomes a `CryptoError` naming `name`.
 */
function readableCopy(value: Uint8Array, name: string): Bytes {
  try {
    return new Uint8Array(value);
  } catch {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `${name}: cannot read the Uint8Array, because its buffer is detached or smaller than the view`,
    );
  }
}

/**
 * Throws unless `value` is a Uint8Array (a Buffer or any view, at any offset, is fine)
 * that can be read. The message names `name` and the received type, never the value, and
 * `alternative`, another kind of value the caller accepts, when given.
 *
 * @internal
 */
export function assertUint8Array(
  value: unknown,
  name: string,
  alternative?: string,
): asserts value is Uint8Array {
  if (!isUint8Array(value)) {
    // describeType would call a Proxy of a Uint8Array "an instance of Uint8Array".
    const received =
      value instanceof Uint8Array
        ? 'an object that inherits from Uint8Array without being one, such as a Proxy'
        : describeType(value);
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `${name}: expected a Uint8Array${alternative === undefined ? '' : ` or ${alternative}`}, received ${received}`,
    );
  }

  // A view over a detached or shrunk buffer reports length 0, and only a copy attempt
  // distinguishes it from an empty view.
  if (value.length === 0) {
    readableCopy(value, name);
  }
}

/**
 * Checks that `value` is a readable Uint8Array and returns a copy in a fresh plain
 * Uint8Array, so that later changes to the caller's memory cannot change the result, and
 * no step can write into the caller's memory. The error names `alternative`, when given, as
 * {@link assertUint8Array} does.
 *
 * @internal
 */
export function copyBytes(value: unknown, name: string, alternative?: string): Bytes {
  assertUint8Array(value, name, alternative);
  return readableCopy(value, name);
}

/**
 * Like {@link copyBytes}, and also requires exactly `length` bytes. The length checked is
 * the copy's, which a subclass cannot misreport; a copy of the wrong length is wiped.
 *
 * @internal
 */
export function copyBytesOfLength(
  value: unknown,
  name: string,
  length: number,
  alternative?: string,
): Bytes {
  const copy = copyBytes(value, name, alternative);
  if (copy.length !== length) {
    wipe(copy);
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `${name}: expected ${formatByteCount(length)}, received ${copy.length}`,
    );
  }

  return copy;
}

/** Like {@link copyBytesOfLength}, but requires at least `minLength` bytes. @internal */
export function copyBytesOfMinLength(value: unknown, name: string, minLength: number): Bytes {
  const copy = copyBytes(value, name);
  if (copy.length < minLength) {
    wipe(copy);
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `${name}: expected at least ${formatByteCount(minLength)}, received ${copy.length}`,
    );
  }

  return copy;
}

/**
 * Moves bytes that a dependency returned into a new plain Uint8Array and wipes the original,
 * whose type does not promise a plain ArrayBuffer and which may contain a secret.
 *
 * @internal
 */
export function copyAndWipe(bytes: Uint8Array): Bytes {
  const copy = new Uint8Array(bytes);
  wipe(bytes);
  return copy;
}

/** Concatenates byte arrays into a new plain Uint8Array. @internal */
export function concatBytes(...parts: Uint8Array[]): Bytes {
  let total = 0;
  for (const part of parts) {
    total += part.length;
  }

  const result = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }

  return result;
}

/**
 * Compares two byte arrays without an early exit on the first difference. Lengths are not
 * secret here and are compared first.
 *
 * @internal
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }

  let difference = 0;
  for (let i = 0; i < a.length; i++) {
    difference |= (a[i] as number) ^ (b[i] as number);
  }

  return difference === 0;
}

/** Returns whether every byte is zero, reading all bytes whatever their values. @internal */
export function isAllZero(bytes: Uint8Array): boolean {
  let accumulator = 0;
  for (const byte of bytes) {
    accumulator |= byte;
  }

  return accumulator === 0;
}

/** Overwrites secret scratch buffers with zeros once they are no longer needed. @internal */
export function wipe(...buffers: Uint8Array[]): void {
  for (const buffer of buffers) {
    buffer.fill(0);
  }
}
