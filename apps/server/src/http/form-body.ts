import { HttpProblem } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';

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
    throw repeatedParametersProblem([...repeatedNames]);
  }

  // Object.fromEntries defines own properties, so a `__proto__` parameter stays data.
  return Object.fromEntries(values);
}

function repeatedParametersProblem(names: string[]): HttpProblem {
  const quotedNames = names.map((name) => JSON.stringify(name));
  const detail =
    quotedNames.length === 1
      ? `the request body contains the parameter ${quotedNames[0]} more than once; send it once`
      : `the request body contains the parameters ${quotedNames.slice(0, -1).join(', ')} and ${quotedNames.at(-1)} more than once; send each once`;

  return new HttpProblem('malformedRequest', detail, {
    errors: names.map((name) => ({
      pointer: toJsonPointer([name]),
      detail: 'appears more than once',
    })),
  });
}
