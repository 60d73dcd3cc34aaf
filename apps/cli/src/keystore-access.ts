import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { KeystoreError } from '@provisions/core';
import {
  FileKeystore,
  type KeystoreOwner,
  type KeystorePassphrase,
  type PassphraseEncryptionOptions,
  readKeystoreOwner,
} from '@provisions/core/keystore';
import { SCRYPT_MAX_N, SCRYPT_MIN_N } from '@provisions/crypto';

import { requireUtf8Environment } from './argument-text.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, usageError } from './cli-error.js';
import {
  describeFileError,
  describeNotRegularFile,
  fileErrorCode,
  isPathProblem,
} from './file-error.js';
import { prompt } from './prompt.js';

/** Environment variable with the keystore passphrase. */
export const PASSPHRASE_ENV = 'PROVISIONS_KEYSTORE_PASSPHRASE';

/**
 * Environment variable with the scrypt cost of the keystore encryption, as
 * log2 N. Unset means the crypto package's default (17). Lower values make
 * the keystore faster to open and cheaper to attack; tests set it to the
 * minimum.
 */
export const KDF_COST_ENV = 'PROVISIONS_KEYSTORE_KDF_COST';

const MIN_KDF_COST = Math.log2(SCRYPT_MIN_N);
const MAX_KDF_COST = Math.log2(SCRYPT_MAX_N);

/**
 * Reads {@link KDF_COST_ENV} and returns the encryption options for the keystore.
 *
 * @throws CliError (exit code 2) for a value that is not an integer from 14 to 20.
 */
export function readKeystoreEncryption(
  env: NodeJS.ProcessEnv = process.env,
): PassphraseEncryptionOptions {
  const text = env[KDF_COST_ENV];
  if (text === undefined || text === '') {
    return {};
  }

  const cost = Number(text);
  if (!/^[0-9]+$/.test(text) || cost < MIN_KDF_COST || cost > MAX_KDF_COST) {
    throw usageError(
      `${KDF_COST_ENV}: expected an integer from ${MIN_KDF_COST} to ${MAX_KDF_COST} (log2 of the scrypt cost), received "${text}"`,
    );
  }

  return { scryptN: 2 ** cost };
}

/**
 * Returns the keystore passphrase from {@link PASSPHRASE_ENV}, or else a function that
 * prompts for it on the terminal without echo. `FileKeystore.open` calls the function only
 * once the keystore is locked and its owner checked, so a missing or locked keystore is
 * reported before anyone types a passphrase. For a keystore the command is about to
 * create, the passphrase is asked twice and both must match, because a typo would lock
 * every later run out of the new keystore. The environment variable is used as it is.
 *
 * The function throws CliError (exit code 2) when there is no terminal, or when the two
 * passphrases typed for a new keystore differ.
 */
export function keystorePassphrase(): KeystorePassphrase {
  const fromEnv = process.env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    requireUtf8Environment(fromEnv, PASSPHRASE_ENV);
    return fromEnv;
  }

  // An empty variable counts as unset, so the command still prompts on a terminal.
  const missingHint =
    fromEnv === ''
      ? `${PASSPHRASE_ENV} is set but empty, so set it to the keystore passphrase, or unset it and run the command in a terminal to type the passphrase`
      : `set ${PASSPHRASE_ENV}`;
  return async ({ path, creating }) => {
    const typed = await promptPassphrase(
      creating ? 'New keystore passphrase: ' : 'Keystore passphrase: ',
      missingHint,
    );
    if (creating && (await promptPassphrase('Repeat the passphrase: ', missingHint)) !== typed) {
      throw usageError(
        `the two passphrases do not match, so keystore ${path} was not created: run the command again`,
      );
    }

    return typed;
  };
}

async function promptPassphrase(question: string, missingHint: string): Promise<string> {
  const typed = await prompt(question, { hidden: true, missingHint });
  if (typed === '') {
    throw usageError(`the keystore passphrase is empty: type it again, or set ${PASSPHRASE_ENV}`);
  }
  return typed;
}

/**
 * Opens the file keystore with the passphrase and the scrypt cost from the environment. With
 * `mustExist`, a missing file fails with `ERR_KEYSTORE_NOT_FOUND` instead of opening empty.
 *
 * @throws CliError (exit code 2) when the keystore or its lock file cannot be opened because of
 *   the path, such as a directory or named pipe given as the keystore or a missing directory.
 * @throws CliError (exit code 1) when the keystore file is not valid JSON.
 */
export async function openKeystore(options: {
  path: string;
  passphrase: KeystorePassphrase;
  organizationId: string;
  serverUrl: string;
  mustExist?: boolean;
}): Promise<FileKeystore> {
  await checkKeystorePath(options.path);
  try {
    return await FileKeystore.open(options.path, {
      ...options,
      encryption: readKeystoreEncryption(),
    });
  } catch (error) {
    throw asKeystorePathError(error, options.path) ?? asNotKeystoreError(error) ?? error;
  }
}

/**
 * Reads the organization id and server URL from the header of the keystore at `path`, with
 * the path checks and error messages of {@link openKeystore}.
 *
 * @throws CliError (exit code 2) for a path that is not a regular file, such as a named pipe,
 *   or another path problem.
 * @throws CliError (exit code 1) for a file that is not JSON.
 * @throws KeystoreError `ERR_KEYSTORE_NOT_FOUND` when the file does not exist.
 */
export async function loadKeystoreOwner(path: string): Promise<KeystoreOwner> {
  await checkKeystorePath(path);
  try {
    return await readKeystoreOwner(path);
  } catch (error) {
    throw asKeystorePathError(error, path) ?? asNotKeystoreError(error) ?? error;
  }
}

/**
 * Checks that the keystore path is a regular file or does not exist yet, before the keystore
 * opens it, because opening a named pipe would block the process. A parent that is not a
 * directory is reported with the path given, not with the path of the lock file beside it.
 *
 * NOTE: A file swapped for a named pipe after this check still blocks the open.
 *
 * @throws CliError (exit code 2) for a path that is not a regular file or a path problem that
 *   stat reports, such as ENOTDIR or EACCES.
 */
async function checkKeystorePath(path: string): Promise<void> {
  let problem: string | undefined;
  try {
    const stats = await stat(path);
    // Opening a directory fails at once, with the EISDIR wording of asKeystorePathError.
    problem = stats.isDirectory() ? undefined : describeNotRegularFile(path, stats);
  } catch (error) {
    // A missing keystore is created, or fails with ERR_KEYSTORE_NOT_FOUND under mustExist.
    if (fileErrorCode(error) === 'ENOENT' || !isPathProblem(error)) {
      return;
    }
    problem = describeFileError(path, error);
  }
  if (problem !== undefined) {
    throw usageError(`--keystore: ${problem}`);
  }
}

/**
 * Returns the error for a keystore file that is not valid JSON, with the next step, or
 * `undefined` for another error.
 */
function asNotKeystoreError(error: unknown): CliError | undefined {
  if (
    !(error instanceof KeystoreError) ||
    error.code !== 'ERR_KEYSTORE_INVALID' ||
    !(error.cause instanceof SyntaxError)
  ) {
    return undefined;
  }
  return new CliError(
    `${error.message}: check the --keystore path, which must name the JSON keystore file that provisions created`,
    EXIT_FAILURE,
    { cause: error },
  );
}

/**
 * Returns the usage error for a keystore that could not be locked or read because of its path,
 * or `undefined` for another error.
 */
function asKeystorePathError(error: unknown, keystorePath: string): CliError | undefined {
  if (!(error instanceof KeystoreError) || error.code !== 'ERR_KEYSTORE_IO') {
    return undefined;
  }

  // A missing keystore file opens as an empty keystore, or fails with ERR_KEYSTORE_NOT_FOUND
  // under mustExist. ENOENT therefore comes from the lock file beside it, whose directory is
  // missing.
  const fileError = findFileSystemError(error);
  if (fileError?.code === 'ENOENT') {
    return new CliError(
      `--keystore: directory ${dirname(resolve(keystorePath))} does not exist; create it first`,
      EXIT_USAGE,
      { cause: error },
    );
  }
  if (fileError === undefined || !isPathProblem(fileError)) {
    return undefined;
  }

  // The file system error names the file that failed, which is the keystore or its lock file.
  return new CliError(
    `--keystore: ${describeFileError(fileError.path ?? keystorePath, fileError)}`,
    EXIT_USAGE,
    { cause: error },
  );
}

/** Returns the first error in the `cause` chain of `error` that a file operation raised. */
function findFileSystemError(error: Error): NodeJS.ErrnoException | undefined {
  let current: unknown = error.cause;
  while (current instanceof Error) {
    const candidate = current as NodeJS.ErrnoException;
    if (typeof candidate.code === 'string' && typeof candidate.syscall === 'string') {
      return candidate;
    }
    current = current.cause;
  }
  return undefined;
}
