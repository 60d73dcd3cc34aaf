import { randomUUID } from 'node:crypto';
import { generateSecretToken, hashSecret } from './auth/secret-token.js';
import { createDataDir } from './data-dir.js';
import { connectDatabase } from './database/connect-database.js';
import { checkDatabaseUrl } from './database/database-url.js';
import { checkDatabasePath } from './database/open-database.js';
import { InvalidOptionError } from './errors/invalid-option-error.js';
import { DatabaseStore } from './store/store.js';

const MAX_NAME_LENGTH = 200;

/** Rule that an organization name must follow, as messages state it. */
export const ORGANIZATION_NAME_RULE = `1 to ${MAX_NAME_LENGTH} characters after trimming white space, without control characters`;

/**
 * Returns the organization name with white space trimmed from both ends, or undefined
 * when it breaks {@link ORGANIZATION_NAME_RULE}.
 */
export function trimOrganizationName(value: unknown): string | undefined {
  const name = typeof value === 'string' ? value.trim() : '';
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    return undefined;
  }
  return name;
}

/** Options of {@link createOrganization}. */
export interface CreateOrganizationOptions {
  /** Data directory of the server; created with its parents (mode 0700) if missing. */
  dataDir: string;
  /**
   * `postgres://` or `postgresql://` URL of the server's PostgreSQL database; when
   * given, the organization is written there instead of the SQLite file.
   */
  databaseUrl?: string;
  /** Display name, 1 to 200 characters after trimming, without control characters. */
  name: string;
}

/** Credentials of a new organization, for `POST /oauth/token`. */
export interface OrganizationCredentials {
  /** Organization id (a UUID), also the OAuth `client_id`. */
  id: string;
  /** OAuth client secret: 32 random bytes as base64url (43 characters). Shown only once. */
  client_secret: string;
  /** The trimmed name. */
  name: string;
}

/**
 * Creates an organization in the server's database (PostgreSQL at `databaseUrl`,
 * else the SQLite file of `dataDir`) and returns its client
 * credentials. Only the SHA-256 of the secret is stored, so it cannot be shown
 * again. Works while a server runs on the same directory.
 *
 * @throws InvalidOptionError for an empty `dataDir`, an invalid `name` or a `databaseUrl`
 * that is not a PostgreSQL URL; DatabaseConnectionError when PostgreSQL cannot be reached.
 * @example
 * const { id, client_secret } = await createOrganization({ dataDir: './data', name: 'Acme' });
 */
export async function createOrganization(
  options: CreateOrganizationOptions,
): Promise<OrganizationCredentials> {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new InvalidOptionError('dataDir must be a non-empty directory path');
  }
  const name = trimOrganizationName(options.name);
  if (name === undefined) {
    throw new InvalidOptionError(`name must be ${ORGANIZATION_NAME_RULE}`);
  }

  if (options.databaseUrl !== undefined) {
    checkDatabaseUrl(options.databaseUrl, 'databaseUrl');
  }

  if (options.databaseUrl === undefined) {
    checkDatabasePath(options.dataDir);
  }
  await createDataDir(options.dataDir);
  const credentials = { id: randomUUID(), client_secret: generateSecretToken(), name };
  const store = new DatabaseStore(
    await connectDatabase({ dataDir: options.dataDir, databaseUrl: options.databaseUrl }),
  );
  try {
    await store.writeTransaction((tx) =>
      tx.organizations.insert({
        id: credentials.id,
        name,
        client_secret_hash: hashSecret(credentials.client_secret),
        created_at: new Date().toISOString(),
      }),
    );
  } finally {
    await store.close();
  }
  return credentials;
}
