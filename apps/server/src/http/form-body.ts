import { HttpProblem } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';

/**
 * Parses an `application/x-www-form-urlencoded` body into an object. A parameter without a
 * value counts as omitted, as RFC 6749 §3.2 requires of token requests.
 *
 * @throws HttpProblem `malformedRequest` pointing at the first parameter that has a value
 *   more than once, which RFC 6749 §3.1 forbids for any parameter, unknown ones included.
 */
export function parseFormBody(text: string): Record<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') {
      continue;
    }
    if (values.has(name)) {
      throw new HttpProblem(
        'malformedRequest',
        `the request body contains the parameter ${JSON.stringify(name)} more than once; send it once`,
        { errors: [{ pointer: toJsonPointer([name]), detail: 'appears more than once' }] },
      );
    }
    values.set(name, value);
  }

  // Object.fromEntries defines own properties, so a `__proto__` parameter stays data.
  return Object.fromEntries(values);
}
