import { InvalidOptionError } from '../errors/invalid-option-error.js';

const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];
const EXAMPLE = 'postgresql://user:password@localhost:5432/provisions';

/**
 * Checks that a database URL is a `postgres://` or `postgresql://` URL. The URL may
 * contain a password, so no message quotes it.
 *
 * @param setting - Name of the option, flag or variable the URL came from, for messages.
 * @returns The URL, unchanged.
 * @throws InvalidOptionError naming `setting` when the value is empty, not a URL,
 * or of another scheme.
 * @example
 * checkDatabaseUrl(process.env.DATABASE_URL, 'DATABASE_URL');
 */
export function checkDatabaseUrl(value: unknown, setting: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(`${setting} must be a PostgreSQL URL such as ${EXAMPLE}`);
  }

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionError(
      `${setting} is not a valid URL; expected a PostgreSQL URL such as ${EXAMPLE}`,
    );
  }
  if (!POSTGRES_SCHEMES.includes(url.protocol)) {
    const scheme = /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : 'another';
    throw new InvalidOptionError(
      `${setting} must use the postgres:// or postgresql:// scheme, received ${scheme}//`,
    );
  }
  return value;
}

/**
 * Describes where a checked database URL points, as `host:port/database`, without
 * the user name or password, for error messages and logs.
 */
export function describeDatabaseUrl(value: string): string {
  const url = new URL(value);
  const host = url.hostname === '' ? 'localhost' : url.hostname;
  const port = url.port === '' ? '5432' : url.port;
  const database = decodeURIComponent(url.pathname.slice(1));
  return `${host}:${port}/${database === '' ? '(default database)' : database}`;
}
