import type { preValidationAsyncHookHandler } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/** An integer written in decimal digits, with a minus sign when negative. */
const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * Builds a `preValidation` hook that rejects a query parameter of type integer whose
 * value is not written in decimal digits, such as `0x10`, ` 10` or `1e2`. Schema
 * validation converts query strings with JavaScript's `Number`, which reads all of
 * these, so a client and the server could read one URL as different numbers. A
 * repeated parameter never gets here, because `installQueryStringCheck` rejects it.
 *
 * @param names - Names of the operation's query parameters of type integer.
 * @throws HttpProblem `invalidRequest` (400) naming each such parameter.
 */
export function decimalQueryIntegersCheck(names: readonly string[]): preValidationAsyncHookHandler {
  return async (request) => {
    const query = request.query as Record<string, unknown>;
    const errors = names
      .filter((name) => typeof query[name] === 'string' && !DECIMAL_INTEGER.test(query[name]))
      .map((name) => ({
        parameter: name,
        detail: 'must be an integer in decimal digits only, such as 50',
      }));

    if (errors.length > 0) {
      const inputs = errors.length === 1 ? 'an invalid input' : `${errors.length} invalid inputs`;
      throw new HttpProblem(
        'invalidRequest',
        `the query parameters contain ${inputs}; see errors`,
        {
          errors,
        },
      );
    }
  };
}
