import { EmailAddressError, normalizeEmail } from '@provisions/api';
import { HttpProblem, type InvalidParam } from '../errors/http-problem.js';

/** Location of an email address in the request, as an `errors` entry gives it. */
export type InputLocation = { pointer: string } | { parameter: string };

/**
 * Normalizes an email address from a request (trim, NFC, ASCII letters lowercased,
 * domain to ASCII with IDNA), or returns why it is invalid.
 *
 * @returns `{ email }`, or `{ error }` locating the input with what is wrong.
 */
export function normalizeEmailInput(
  input: string,
  location: InputLocation,
): { email: string } | { error: InvalidParam } {
  try {
    return { email: normalizeEmail(input) };
  } catch (error) {
    if (error instanceof EmailAddressError) {
      return { error: { ...location, detail: error.message } };
    }
    throw error;
  }
}

/**
 * Normalizes one email address from a request.
 *
 * @throws HttpProblem `invalidEmail` (422) locating the input.
 */
export function requireEmailInput(input: string, location: InputLocation): string {
  const result = normalizeEmailInput(input, location);
  if ('error' in result) {
    throw new HttpProblem('invalidEmail', 'the email address is invalid; see errors', {
      errors: [result.error],
    });
  }
  return result.email;
}
