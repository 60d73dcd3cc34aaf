import { KeystoreError } from './provision-keystore.js';

/** Value of the `format` field of a keystore file. */
export const KEYSTORE_FORMAT = 'provisions-keystore';

/** Value of the `version` field of the keystore files this package writes and reads. */
export const KEYSTORE_VERSION = 1;

/**
 * The JSON object stored in a keystore file. The organization and server are
 * in clear so that opening the file for another one fails before decrypting.
 */
export interface KeystoreFile {
  format: typeof KEYSTORE_FORMAT;
  version: typeof KEYSTORE_VERSION;
  /** The organization whose provisions the entries are. */
  organization_id: string;
  /** The API server the provisions were created on. */
  server_url: string;
  /**
   * `encryptWithPassphrase` of the UTF-8 JSON
   * `{ "<normalized email>": { public_key, user_key_share, created_at } }`,
   * as unpadded base64url.
   */
  envelope: string;
}

/**
 * Parses the text of a keystore file and checks its clear fields.
 *
 * @param text - the file content.
 * @param path - the file path, for error messages.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming the field that is wrong.
 */
export function parseKeystoreFile(text: string, path: string): KeystoreFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `keystore ${path} is not valid JSON`, {
      cause,
    });
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `keystore ${path}: expected a JSON object`);
  }

  const file = value as Record<string, unknown>;
  if (file.format !== KEYSTORE_FORMAT) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: format: expected "${KEYSTORE_FORMAT}"; this is not a provisions keystore`,
    );
  }

  if (file.version !== KEYSTORE_VERSION) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: version: expected ${KEYSTORE_VERSION}, received ${JSON.stringify(file.version)}`,
    );
  }

  for (const field of ['organization_id', 'server_url', 'envelope'] as const) {
    if (typeof file[field] !== 'string' || file[field] === '') {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `keystore ${path}: ${field}: expected a non-empty string`,
      );
    }
  }

  return file as unknown as KeystoreFile;
}

/** Serializes a keystore file as indented JSON with a final newline. */
export function serializeKeystoreFile(file: KeystoreFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}
