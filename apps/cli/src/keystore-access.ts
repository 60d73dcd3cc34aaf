import {
  FileKeystore,
  type KeystorePassphrase,
  type PassphraseEncryptionOptions,
} from '@provisions/core/keystore';
import { SCRYPT_MAX_N, SCRYPT_MIN_N } from '@provisions/crypto';

import { requireUtf8Environment } from './argument-text.js';
import { usageError } from './cli-error.js';
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

  return async ({ path, creating }) => {
    const typed = await promptPassphrase(
      creating ? 'New keystore passphrase: ' : 'Keystore passphrase: ',
    );
    if (creating && (await promptPassphrase('Repeat the passphrase: ')) !== typed) {
      throw usageError(
        `the two passphrases do not match, so keystore ${path} was not created: run the command again`,
      );
    }

    return typed;
  };
}

async function promptPassphrase(question: string): Promise<string> {
  const typed = await prompt(question, { hidden: true, missingHint: `set ${PASSPHRASE_ENV}` });
  if (typed === '') {
    throw usageError(`the keystore passphrase is empty: type it again, or set ${PASSPHRASE_ENV}`);
  }
  return typed;
}

/**
 * Opens the file keystore with the passphrase and the scrypt cost from the environment. With
 * `mustExist`, a missing file fails with `ERR_KEYSTORE_NOT_FOUND` instead of opening empty.
 */
export async function openKeystore(options: {
  path: string;
  passphrase: KeystorePassphrase;
  organizationId: string;
  serverUrl: string;
  mustExist?: boolean;
}): Promise<FileKeystore> {
  return FileKeystore.open(options.path, { ...options, encryption: readKeystoreEncryption() });
}
