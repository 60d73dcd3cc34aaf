import { FileKeystore, type PassphraseEncryptionOptions } from '@provisions/core/keystore';
import { SCRYPT_MAX_N, SCRYPT_MIN_N } from '@provisions/crypto';

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
 * Returns the keystore passphrase from {@link PASSPHRASE_ENV}, or prompts for
 * it on the terminal without echo.
 *
 * @throws CliError (exit code 2) when the variable is unset and there is no terminal.
 */
export async function readPassphrase(): Promise<string> {
  const fromEnv = process.env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return fromEnv;
  }

  const typed = await prompt('Keystore passphrase: ', {
    hidden: true,
    missingHint: `set ${PASSPHRASE_ENV}`,
  });
  if (typed === '') {
    throw usageError(
      'the keystore passphrase is empty: type it again, or set PROVISIONS_KEYSTORE_PASSPHRASE',
    );
  }

  return typed;
}

/** Opens the file keystore with the passphrase and the scrypt cost from the environment. */
export async function openKeystore(options: {
  path: string;
  passphrase: string;
  organizationId: string;
  serverUrl: string;
}): Promise<FileKeystore> {
  return FileKeystore.open(options.path, { ...options, encryption: readKeystoreEncryption() });
}
