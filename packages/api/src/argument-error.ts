/**
 * An argument of a function of this package that has the wrong type or form. It is raised
 * before anything is sent. It is a `TypeError`, so code that caught the plain `TypeError` of
 * earlier releases still catches it. The message names the argument and what was expected,
 * and never contains a token or secret.
 */
export class ApiArgumentError extends TypeError {
  override readonly name = 'ApiArgumentError';

  /** Always `ERR_INVALID_ARGUMENT`, the code that `@provisions/core` uses for the same failure. */
  readonly code = 'ERR_INVALID_ARGUMENT';
}

/** Describes a value's type for an error message, such as `null`, `an array` or `number`. */
export function describeType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === '') {
    return 'an empty string';
  }

  return typeof value;
}
