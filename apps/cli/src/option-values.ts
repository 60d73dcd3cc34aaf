import { usageError } from './cli-error.js';

/**
 * Returns `value` if it is a non-empty string.
 *
 * @param source - how to set it, for the error, such as `--org-id or PROVISIONS_ORG_ID`.
 * @throws CliError (exit code 2) naming `source` when the value is missing.
 */
export function requireValue(value: string | undefined, source: string): string {
  if (value === undefined || value.trim() === '') {
    throw usageError(`missing ${source}`);
  }

  return value.trim();
}

/**
 * Checks that `value` is an http or https URL and returns it without a trailing slash.
 *
 * @param name - the option, for the error, such as `--server`.
 * @throws CliError (exit code 2) for another value.
 */
export function requireHttpUrl(value: string, name: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw usageError(`${name}: expected an http or https URL, such as https://api.example.com`);
  }

  return url.href.replace(/\/+$/, '');
}
