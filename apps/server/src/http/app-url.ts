import { InvalidOptionError } from '../errors/invalid-option-error.js';

/** An example of a valid web app URL, for messages. */
export const APP_URL_EXAMPLE = 'https://app.example.com';

/**
 * Tells whether a value is a web app URL the server accepts: `http://` or
 * `https://` followed by a host.
 *
 * @example
 * isAppUrl('https://app.example.com'); // true
 * isAppUrl('notaurl'); // false
 */
export function isAppUrl(value: unknown): value is string {
  return typeof value === 'string' && /^https?:\/\/[^/]/.test(value);
}

/**
 * Checks the web app's URL with {@link isAppUrl}.
 *
 * @param setting - Name of the option or flag the URL came from, for messages.
 * @returns The URL, unchanged.
 * @throws InvalidOptionError naming `setting` and quoting the value.
 * @example
 * checkAppUrl('https://app.example.com', 'appUrl');
 */
export function checkAppUrl(value: unknown, setting: string): string {
  if (!isAppUrl(value)) {
    throw new InvalidOptionError(
      `${setting} must be an http or https URL such as ${APP_URL_EXAMPLE}, received ${String(value)}`,
    );
  }
  return value;
}
