import { usageError } from './cli-error.js';
import type { ServerUrlSource } from './node-http-fetch.js';

/**
 * Returns `value` without white space at either end.
 *
 * @param source - how to set it, for the error, such as `--org-id or PROVISIONS_ORG_ID`.
 * @throws CliError (exit code 2) naming `source` when the value is missing, empty or only
 *   white space, and saying which of the three it is.
 */
export function requireValue(value: string | undefined, source: string): string {
  if (value === undefined) {
    throw usageError(`missing ${source}`);
  }
  if (value === '') {
    throw usageError(`${source}: the value is empty`);
  }
  if (value.trim() === '') {
    throw usageError(`${source}: the value is blank (only white space)`);
  }

  return value.trim();
}

// Organization ids are UUIDs (the API's `Id` format), and the server compares them
// without regard to case.
const ORGANIZATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
 * @param options.serverSource - the source of `server`, passed on for errors.
 * @throws CliError (exit code 2) when one is missing, the URL is not http(s) or the
 *   organization id is not a UUID.
 */
export function requireOrganizationTarget(options: {
  server?: string;
  orgId?: string;
  serverSource?: ServerUrlSource;
}): {
  server: string;
  organizationId: string;
  serverSource: ServerUrlSource | undefined;
} {
  return {
    server: requireHttpUrl(
      requireValue(options.server, '--server or PROVISIONS_SERVER'),
      '--server',
    ),
    organizationId: requireOrganizationId(options.orgId),
    serverSource: options.serverSource,
  };
}

/**
 * Returns the organization id from `--org-id` or PROVISIONS_ORG_ID.
 *
 * @throws CliError (exit code 2) when it is missing or not a UUID.
 */
export function requireOrganizationId(value: string | undefined): string {
  const source = '--org-id or PROVISIONS_ORG_ID';
  const id = requireValue(value, source);
  // The value is not repeated: a client secret put in the wrong variable would reach the log.
  if (!ORGANIZATION_ID.test(id)) {
    throw usageError(
      `${source}: expected the organization id, a UUID such as 0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11`,
    );
  }
  return id;
}

/**
 * Reads the organization's client secret from {@link CLIENT_SECRET_ENV}.
 *
 * @throws CliError (exit code 2) when it is not set.
 */
export function requireClientSecret(): string {
  return requireValue(process.env[CLIENT_SECRET_ENV], `${CLIENT_SECRET_ENV} in the environment`);
}
