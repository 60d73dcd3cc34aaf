import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLockFile, type LockFile, LockFileError } from '@provisions/core/keystore';
import {
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  SECRET_KEY_LENGTH,
} from '@provisions/crypto';
import { createOrganization } from '@provisions/server';

import { requireUtf8Environment } from './argument-text.js';
import { CliError } from './cli-error.js';
import { PASSPHRASE_ENV } from './keystore-access.js';

/** Permission bits of the demo's secret files: read and write for their owner only. */
const PRIVATE_FILE_MODE = 0o600;

/** Permission bits of the demo's directories. */
const PRIVATE_DIRECTORY_MODE = 0o700;

/** Bytes of randomness in a generated keystore passphrase (43 base64url characters). */
const GENERATED_PASSPHRASE_BYTES = 32;

/** The demo organization's credentials, kept in `<data-dir>/organization.json`. */
export interface DemoOrganization {
  id: string;
  client_secret: string;
  name: string;
}

/** Source of a demo value, for the output. */
export type Origin = 'created' | 'reused' | 'environment';

/** Name of the organization the demo creates. */
const DEMO_ORGANIZATION_NAME = 'Demo organization';

/**
 * Creates `dataDir` with mode 0700 if it is missing.
 *
 * @throws CliError when it cannot be created.
 */
export async function ensurePrivateDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  } catch (cause) {
    throw new CliError(`cannot create the directory ${directory}: ${describeFsError(cause)}`);
  }
}

/**
 * File that marks a directory as the demo's own, so `--fresh` deletes only
 * directories the demo made.
 */
export const DEMO_MARKER_FILE_NAME = '.provisions-demo';

/**
 * Tells whether `directory` is missing or empty, made by the demo (it has the
 * marker file), or something else that the demo must leave alone.
 *
 * @throws CliError when it exists but is not a readable directory.
 */
export async function inspectDemoDirectory(
  directory: string,
): Promise<'absent' | 'empty' | 'demo' | 'foreign'> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return 'absent';
    }
    if (code === 'ENOTDIR') {
      throw new CliError(`${directory} is a file, not a directory: choose another --data-dir`);
    }
    throw new CliError(`cannot read the directory ${directory}: ${describeFsError(cause)}`);
  }

  if (entries.length === 0) {
    return 'empty';
  }
  return entries.includes(DEMO_MARKER_FILE_NAME) ? 'demo' : 'foreign';
}

/** Writes the marker file that makes `directory` the demo's own. */
export async function markDemoDirectory(directory: string): Promise<void> {
  const path = join(directory, DEMO_MARKER_FILE_NAME);
  try {
    await writeFile(path, 'This directory was made by `provisions demo`; --fresh may delete it.\n');
  } catch (cause) {
    throw new CliError(`cannot write ${path}: ${describeFsError(cause)}`);
  }
}

/** Lock file that a running demo holds in its data directory. */
export const DEMO_LOCK_FILE_NAME = 'demo.lock';

/**
 * Locks the demo's data directory for this process, so that a second demo on the same
 * directory stops before it starts a server, creates an organization or requests a
 * sign-in code. A lock left by a process that is gone is taken over.
 *
 * @throws CliError (exit code 1) naming the process that holds the lock, or saying why the
 *   lock file cannot be created.
 */
export async function lockDemoDirectory(directory: string): Promise<LockFile> {
  try {
    return await acquireLockFile(
      join(directory, DEMO_LOCK_FILE_NAME),
      `demo data directory ${directory}`,
    );
  } catch (error) {
    if (error instanceof LockFileError && error.code === 'ERR_LOCKED') {
      throw new CliError(
        `${error.message}; to run another demo at the same time, give it its own --data-dir`,
        undefined,
        { cause: error },
      );
    }
    throw new CliError((error as Error).message, undefined, { cause: error });
  }
}

/**
 * Deletes everything in the demo's data directory except the marker file and the lock
 * file, for `--fresh`. The lock stays, so no other demo starts on the directory meanwhile.
 *
 * @throws CliError when an entry cannot be deleted.
 */
export async function clearDemoDirectory(directory: string): Promise<void> {
  const keptEntries = new Set([DEMO_MARKER_FILE_NAME, DEMO_LOCK_FILE_NAME]);
  for (const entry of await readdir(directory)) {
    if (keptEntries.has(entry)) {
      continue;
    }
    const path = join(directory, entry);
    try {
      await rm(path, { recursive: true, force: true });
    } catch (cause) {
      throw new CliError(`cannot delete ${path}: ${describeFsError(cause)}`);
    }
  }
}

/**
 * Returns the demo organization from `<dataDir>/organization.json`, or creates
 * it in the server database at `serverDataDir` and saves its credentials
 * there with mode 0600.
 */
export async function loadOrCreateOrganization(
  dataDir: string,
  serverDataDir: string,
): Promise<{ organization: DemoOrganization; origin: Origin; path: string }> {
  const path = organizationPath(dataDir);

  const saved = await loadOrganization(dataDir);
  if (saved !== undefined) {
    return { organization: saved, origin: 'reused', path };
  }

  const created = await createOrganization({
    dataDir: serverDataDir,
    name: DEMO_ORGANIZATION_NAME,
  });
  const organization: DemoOrganization = {
    id: created.id,
    client_secret: created.client_secret,
    name: created.name,
  };
  await writePrivateFile(path, `${JSON.stringify(organization, null, 2)}\n`);

  return { organization, origin: 'created', path };
}

/**
 * Returns the demo organization saved by an earlier run in `<dataDir>/organization.json`, or
 * undefined on the first run.
 *
 * @throws CliError when the file cannot be read or is not such an organization.
 */
export async function loadOrganization(dataDir: string): Promise<DemoOrganization | undefined> {
  const path = organizationPath(dataDir);
  const saved = await readOptionalFile(path);
  return saved === undefined ? undefined : parseOrganization(saved, path);
}

function organizationPath(dataDir: string): string {
  return join(dataDir, 'organization.json');
}

/**
 * Returns the keystore passphrase: from {@link PASSPHRASE_ENV} if set, else
 * from `<dataDir>/keystore-passphrase`, which is generated at random on the
 * first run with mode 0600.
 */
export async function loadOrCreatePassphrase(
  dataDir: string,
): Promise<{ passphrase: string; origin: Origin; path: string }> {
  const path = join(dataDir, 'keystore-passphrase');

  const fromEnv = process.env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    requireUtf8Environment(fromEnv, PASSPHRASE_ENV);
    return { passphrase: fromEnv, origin: 'environment', path };
  }

  const saved = await readOptionalFile(path);
  if (saved !== undefined) {
    const passphrase = saved.trim();
    if (passphrase === '') {
      throw new CliError(
        `${path} is empty: delete it together with keystore.json, or run the demo with --fresh`,
      );
    }
    return { passphrase, origin: 'reused', path };
  }

  const passphrase = encodeBase64Url(randomBytes(GENERATED_PASSPHRASE_BYTES));
  await writePrivateFile(path, `${passphrase}\n`);

  return { passphrase, origin: 'created', path };
}

/**
 * Returns the identity secret key of `email` from
 * `<dataDir>/identities/<email>.key` (43 base64url characters), or generates
 * one and saves it with mode 0600.
 */
export async function loadOrCreateIdentityKey(
  dataDir: string,
  email: string,
): Promise<{ secretKey: Uint8Array; origin: Origin; path: string }> {
  const directory = join(dataDir, 'identities');
  const path = join(directory, `${identityFileName(email)}.key`);

  const saved = await readOptionalFile(path);
  if (saved !== undefined) {
    try {
      return {
        secretKey: decodeBase64Url(saved.trim(), { length: SECRET_KEY_LENGTH, name: path }),
        origin: 'reused',
        path,
      };
    } catch {
      throw new CliError(
        `${path}: expected a ${SECRET_KEY_LENGTH}-byte key as base64url; run the demo with --fresh`,
      );
    }
  }

  await ensurePrivateDirectory(directory);
  const { secretKey } = await generateKeyPair();
  await writePrivateFile(path, `${encodeBase64Url(secretKey)}\n`);

  return { secretKey, origin: 'created', path };
}

/**
 * Returns the port the demo server listened on in an earlier run, from
 * `<dataDir>/server-port`, or undefined on the first run.
 *
 * Listening on the same port keeps every printed invitation link valid from
 * one run to the next, because a link starts with the server's address.
 */
export async function loadDemoPort(dataDir: string): Promise<number | undefined> {
  const path = join(dataDir, 'server-port');

  const saved = await readOptionalFile(path);
  if (saved === undefined) {
    return undefined;
  }

  const port = Number(saved.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CliError(
      `${path}: expected a port number from 1 to 65535; run the demo with --fresh`,
    );
  }
  return port;
}

/** Writes the demo server's port to `<dataDir>/server-port` for the next run. */
export async function saveDemoPort(dataDir: string, port: number): Promise<void> {
  const path = join(dataDir, 'server-port');
  try {
    await writeFile(path, `${port}\n`);
  } catch (cause) {
    throw new CliError(`cannot write ${path}: ${describeFsError(cause)}`);
  }
}

/** Directory in the data directory that keeps each person's session token between runs. */
export const SESSIONS_DIRECTORY_NAME = 'sessions';

/** A person's access token from an earlier run, and when it expires. */
export interface SavedSession {
  /** The bearer token. A secret: never log it. */
  token: string;
  /** When the server stops accepting the token, in milliseconds since the epoch. */
  expiresAt: number;
}

/** The b64token syntax of RFC 6750 section 2.1, which a bearer token must match. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Returns the session of `email` saved by an earlier run in
 * `<dataDir>/sessions/<email>.json`, or undefined when there is none. A file that is
 * not such a session, such as one cut short by a crash, counts as none, and the
 * next sign-in replaces it.
 */
export async function loadSession(
  dataDir: string,
  email: string,
): Promise<SavedSession | undefined> {
  const saved = await readOptionalFile(sessionPath(dataDir, email));
  if (saved === undefined) {
    return undefined;
  }

  let value: unknown;
  try {
    value = JSON.parse(saved);
  } catch {
    return undefined;
  }
  const { access_token: token, expires_at: expiresAt } = (value ?? {}) as Record<string, unknown>;
  if (typeof token !== 'string' || !BEARER_TOKEN.test(token) || typeof expiresAt !== 'string') {
    return undefined;
  }
  const expiresAtMs = Date.parse(expiresAt);
  return Number.isNaN(expiresAtMs) ? undefined : { token, expiresAt: expiresAtMs };
}

/**
 * Saves the session of `email` in `<dataDir>/sessions/<email>.json` with mode 0600, so
 * the next runs sign in without a new code until the token expires.
 */
export async function saveSession(
  dataDir: string,
  email: string,
  session: SavedSession,
): Promise<void> {
  await ensurePrivateDirectory(join(dataDir, SESSIONS_DIRECTORY_NAME));
  const path = sessionPath(dataDir, email);
  const content = {
    access_token: session.token,
    expires_at: new Date(session.expiresAt).toISOString(),
  };
  try {
    await writeFile(path, `${JSON.stringify(content, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
    await chmod(path, PRIVATE_FILE_MODE);
  } catch (cause) {
    throw new CliError(`cannot write ${path}: ${describeFsError(cause)}`);
  }
}

function sessionPath(dataDir: string, email: string): string {
  return join(dataDir, SESSIONS_DIRECTORY_NAME, `${identityFileName(email)}.json`);
}

function identityFileName(email: string): string {
  return /^[A-Za-z0-9._+@-]+$/.test(email) ? email : encodeURIComponent(email);
}

function parseOrganization(text: string, path: string): DemoOrganization {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON: run the demo with --fresh to start over`);
  }

  const { id, client_secret: clientSecret, name } = (value ?? {}) as Record<string, unknown>;
  if (typeof id !== 'string' || typeof clientSecret !== 'string' || typeof name !== 'string') {
    throw new CliError(
      `${path}: expected "id", "client_secret" and "name" strings; run the demo with --fresh`,
    );
  }

  return { id, client_secret: clientSecret, name };
}

async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new CliError(`cannot read ${path}: ${describeFsError(cause)}`);
  }
}

async function writePrivateFile(path: string, content: string): Promise<void> {
  try {
    await writeFile(path, content, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    await chmod(path, PRIVATE_FILE_MODE);
  } catch (cause) {
    throw new CliError(`cannot write ${path}: ${describeFsError(cause)}`);
  }
}

function describeFsError(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
