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
 * Checks that `value` is an http or https URL with no user name, password,
 * query or fragment, and returns it without a trailing slash.
 *
 * @param name - the option, for the error, such as `--server`.
 * @throws CliError (exit code 2) for another value.
 */
export function requireHttpUrl(value: string, name: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw usageError(`${name}: expected an http or https URL, such as https://api.example.com`);
  }

  // The URL is printed in errors and progress lines, so it must not carry
  // credentials. For the same reason this error does not repeat the value.
  if (url.username !== '' || url.password !== '') {
    throw usageError(
      `${name}: expected a URL without a user name or password; the organization signs in with PROVISIONS_CLIENT_SECRET`,
    );
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw usageError(`${name}: expected a URL without a query (?) or fragment (#)`);
  }

  return url.href.replace(/\/+$/, '');
}

/** Environment variable holding the organization's client secret, never a flag. */
export const CLIENT_SECRET_ENV = 'PROVISIONS_CLIENT_SECRET';

/**
 * Reads the server URL and organization id from the options (or their
 * environment variables, which commander has applied).
 *
 * @throws CliError (exit code 2) when one is missing or the URL is not http(s).
 */
export function requireOrganizationTarget(options: { server?: string; orgId?: string }): {
  server: string;
  organizationId: string;
} {
  return {
    server: requireHttpUrl(
      requireValue(options.server, '--server or PROVISIONS_SERVER'),
      '--server',
    ),
    organizationId: requireValue(options.orgId, '--org-id or PROVISIONS_ORG_ID'),
  };
}

/**
 * Reads the organization's client secret from {@link CLIENT_SECRET_ENV}.
 *
 * @throws CliError (exit code 2) when it is not set.
 */
export function requireClientSecret(): string {
  return requireValue(process.env[CLIENT_SECRET_ENV], `${CLIENT_SECRET_ENV} in the environment`);
}
