import type { EmailAddressError } from '@provisions/api';

const MESSAGE_PREFIX = 'invalid email address';

/**
 * Builds the one sentence the page shows for an address that `normalizeEmail()` rejected, such
 * as `This is not a valid email address: nothing comes after the "@".` The error message starts
 * with "invalid email address" and the quoted address, which the field already shows, so the
 * sentence keeps only the reason after them.
 */
export function invalidEmailSentence(error: EmailAddressError): string {
  return `This is not a valid email address: ${extractReason(error.message)}.`;
}

/**
 * Returns the part of a `normalizeEmail()` message after `invalid email address: ` or
 * `invalid email address "<address>": `, or the whole message if it has another shape.
 */
function extractReason(message: string): string {
  if (!message.startsWith(MESSAGE_PREFIX)) {
    return message;
  }

  const rest = message.slice(MESSAGE_PREFIX.length);
  if (rest.startsWith(': ')) {
    return rest.slice(': '.length);
  }

  // The quoted address may contain `": ` itself, but no reason of `normalizeEmail()` does,
  // so the last one closes the address.
  const addressEnd = rest.lastIndexOf('": ');
  if (rest.startsWith(' "') && addressEnd !== -1) {
    return rest.slice(addressEnd + '": '.length);
  }
  return message;
}
