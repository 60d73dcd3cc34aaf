import { HttpProblem, type InvalidParam } from '../errors/http-problem.js';

/**
 * Builds the 400 `malformed-request` problem for parameters given more than once, with
 * their names quoted in `detail` and one `errors` entry each.
 *
 * @param location - Where the parameters are, such as `query string` or `request body`.
 * @param names - The repeated names, at least one, in the order to report them.
 * @param locate - Returns the `errors` entry for one name, without its `detail`.
 */
export function repeatedParametersProblem(
  location: string,
  names: readonly string[],
  locate: (name: string) => { parameter: string } | { pointer: string },
): HttpProblem {
  const quotedNames = names.map((name) => JSON.stringify(name));
  const detail =
    quotedNames.length === 1
      ? `the ${location} contains the parameter ${quotedNames[0]} more than once; send it once`
      : `the ${location} contains the parameters ${quotedNames.slice(0, -1).join(', ')} and ${quotedNames.at(-1)} more than once; send each once`;

  return new HttpProblem('malformedRequest', detail, {
    errors: names.map(
      (name): InvalidParam => ({ ...locate(name), detail: 'appears more than once' }),
    ),
  });
}
