import { toJsonPointer } from '../errors/json-pointer.js';
import { repeatedParametersProblem } from './repeated-parameters.js';

/**
 * Parses an `application/x-www-form-urlencoded` body into an object. A parameter without a
 * value counts as omitted, as RFC 6749 §3.2 requires of token requests.
 *
 * @throws HttpProblem `malformedRequest` with one error entry for each parameter that has a
 *   value more than once. RFC 6749 §3.1 forbids that for any parameter, unknown ones included.
 */
export function parseFormBody(text: string): Record<string, string> {
  const values = new Map<string, string>();
  const repeatedNames = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') {
      continue;
    }
    if (values.has(name)) {
      repeatedNames.add(name);
    } else {
      values.set(name, value);
    }
  }

  if (repeatedNames.size > 0) {
    throw repeatedParametersProblem('request body', [...repeatedNames], (name) => ({
      pointer: toJsonPointer([name]),
    }));
  }

  // Object.fromEntries defines own properties, so a `__proto__` parameter stays data.
  return Object.fromEntries(values);
}
