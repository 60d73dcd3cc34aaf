/**
 * The passphrase-encrypted file keystore, for Node.js: `@provisions/core/keystore`.
 *
 * @packageDocumentation
 */

import { readFile } from 'node:fs/promises';

import { normalizeEmail } from '@provisions/api';
import {
  CryptoError,
  decodeBase64Url,
  decryptWithPassphrase,
  encodeBase64Url,
  encryptWithPassphrase,
} from '@provisions/crypto';

import { writeFileAtomic } from './keystore-atomic-write.js';
import {
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  type KeystoreFile,
  parseKeystoreFile,
  serializeKeystoreFile,
} from './keystore-file-format.js';
import {
  KeystoreError,
  type ProvisionKeystore,
  type ProvisionKeystoreEntry,
  validateKeystoreEntry,
} from './provision-keystore.js';

export { KEYSTORE_FORMAT, KEYSTORE_VERSION, type KeystoreFile } from './keystore-file-format.js';

/** Permission bits of a keystore file: read and write for its owner only. */
export const KEYSTORE_FILE_MODE = 0o600;

/** Options of `encryptWithPassphrase` from `@provisions/crypto`, such as the scrypt cost. */
export type PassphraseEncryptionOptions = NonNullable<Parameters<typeof encryptWithPassphrase>[2]>;

/** Options of {@link FileKeystore.open}. */
export interface FileKeystoreOptions {
  /** Passphrase that encrypts the entries. A secret: never log it. */
  passphrase: string;
  /** The organization whose provisions the keystore holds. */
  organizationId: string;
  /** The API server URL; compared after URL normalization, without a trailing slash. */
  serverUrl: string;
  /**
   * Options for `encryptWithPassphrase` when the keystore is written. Leave it
   * unset in production so the crypto package's default scrypt cost applies;
   * tests may lower the cost.
   */
  encryption?: PassphraseEncryptionOptions;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A {@link ProvisionKeystore} in one JSON file whose entries are encrypted
 * with a passphrase (scrypt and XChaCha20-Poly1305, from `@provisions/crypto`).
 *
 * The file is `{ format, version, organization_id, server_url, envelope }`.
 * Every `put` rewrites it atomically with mode 0600 before it resolves.
 * Writes from one instance are serialized.
 *
 * NOTE: there is no lock between processes. When two processes write the
 * same file at once, the last write wins and drops the other's new entries,
 * so run one sender per keystore at a time.
 *
 * @example
 * import { FileKeystore } from '@provisions/core/keystore';
 *
 * const keystore = await FileKeystore.open('keystore.json', {
 *   passphrase, organizationId, serverUrl: 'https://api.example.com',
 * });
 */
export class FileKeystore implements ProvisionKeystore {
  /** Path of the keystore file. */
  readonly path: string;

  readonly #options: FileKeystoreOptions;
  #entries: ReadonlyMap<string, ProvisionKeystoreEntry>;
  #writes: Promise<void> = Promise.resolve();

  private constructor(
    path: string,
    options: FileKeystoreOptions,
    entries: Map<string, ProvisionKeystoreEntry>,
  ) {
    this.path = path;
    this.#options = options;
    this.#entries = entries;
  }

  /**
   * Opens the keystore at `path`, decrypting its entries. A missing file is an
   * empty keystore; the file is created by the first `put`.
   *
   * @throws KeystoreError `ERR_KEYSTORE_MISMATCH` if the file belongs to
   *   another organization or server (checked before decrypting),
   *   `ERR_KEYSTORE_WRONG_PASSPHRASE` for a wrong passphrase,
   *   `ERR_KEYSTORE_INVALID` for a file or entry that is not in the format, and
   *   `ERR_KEYSTORE_IO` when the file cannot be read.
   * @throws TypeError for an empty passphrase or organization id, or a server URL that is not a URL.
   */
  static async open(path: string, options: FileKeystoreOptions): Promise<FileKeystore> {
    checkOptions(options);

    const text = await readKeystoreText(path);
    if (text === undefined) {
      return new FileKeystore(path, options, new Map());
    }

    const file = parseKeystoreFile(text, path);
    if (file.organization_id !== options.organizationId) {
      throw new KeystoreError(
        'ERR_KEYSTORE_MISMATCH',
        `keystore ${path} belongs to organization ${file.organization_id}, not ${options.organizationId}: use that organization's credentials or another keystore file`,
      );
    }

    if (normalizeServerUrl(file.server_url) !== normalizeServerUrl(options.serverUrl)) {
      throw new KeystoreError(
        'ERR_KEYSTORE_MISMATCH',
        `keystore ${path} belongs to server ${file.server_url}, not ${normalizeServerUrl(options.serverUrl)}: use that server or another keystore file`,
      );
    }

    const entries = await decryptEntries(file, options.passphrase, path);

    return new FileKeystore(path, options, entries);
  }

  async get(email: string): Promise<ProvisionKeystoreEntry | undefined> {
    const entry = this.#entries.get(normalizeEmail(email));
    return entry === undefined ? undefined : { ...entry };
  }

  /**
   * Stores `entry` for `email` and rewrites the file atomically. The entry is
   * visible to `get` only once the file is written.
   *
   * @throws KeystoreError `ERR_KEYSTORE_INVALID` for an invalid entry, or
   *   `ERR_KEYSTORE_IO` when the file cannot be written.
   */
  async put(email: string, entry: ProvisionKeystoreEntry): Promise<void> {
    const key = normalizeEmail(email);
    const validEntry = validateKeystoreEntry(entry, `entry for ${key}`);

    const write = this.#writes.then(async () => {
      const entries = new Map(this.#entries);
      entries.set(key, validEntry);

      await this.#write(entries);
      this.#entries = entries;
    });
    this.#writes = write.catch(() => undefined);

    return write;
  }

  async #write(entries: ReadonlyMap<string, ProvisionKeystoreEntry>): Promise<void> {
    const plaintext = utf8Encoder.encode(JSON.stringify(Object.fromEntries(entries)));

    let envelope: Uint8Array;
    try {
      envelope = await encryptWithPassphrase(
        plaintext,
        this.#options.passphrase,
        this.#options.encryption,
      );
    } finally {
      plaintext.fill(0);
    }

    const file: KeystoreFile = {
      format: KEYSTORE_FORMAT,
      version: KEYSTORE_VERSION,
      organization_id: this.#options.organizationId,
      server_url: normalizeServerUrl(this.#options.serverUrl),
      envelope: encodeBase64Url(envelope),
    };

    try {
      await writeFileAtomic(this.path, serializeKeystoreFile(file), KEYSTORE_FILE_MODE);
    } catch (cause) {
      throw new KeystoreError(
        'ERR_KEYSTORE_IO',
        `cannot write keystore ${this.path}: ${describeFsError(cause)}`,
        {
          cause,
        },
      );
    }
  }
}

function checkOptions(options: FileKeystoreOptions): void {
  if (typeof options.passphrase !== 'string' || options.passphrase === '') {
    throw new TypeError('passphrase: expected a non-empty string');
  }

  if (typeof options.organizationId !== 'string' || options.organizationId === '') {
    throw new TypeError('organizationId: expected a non-empty string');
  }

  if (typeof options.serverUrl !== 'string' || !URL.canParse(options.serverUrl)) {
    throw new TypeError('serverUrl: expected a URL, such as "https://api.example.com"');
  }
}

async function readKeystoreText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new KeystoreError(
      'ERR_KEYSTORE_IO',
      `cannot read keystore ${path}: ${describeFsError(cause)}`,
      {
        cause,
      },
    );
  }
}

async function decryptEntries(
  file: KeystoreFile,
  passphrase: string,
  path: string,
): Promise<Map<string, ProvisionKeystoreEntry>> {
  let plaintext: Uint8Array;
  try {
    plaintext = await decryptWithPassphrase(
      decodeBase64Url(file.envelope, { name: 'envelope' }),
      passphrase,
    );
  } catch (cause) {
    if (cause instanceof CryptoError && cause.code === 'ERR_WRONG_PASSPHRASE') {
      throw new KeystoreError(
        'ERR_KEYSTORE_WRONG_PASSPHRASE',
        `the passphrase is wrong for keystore ${path}: use the passphrase the keystore was created with`,
        { cause },
      );
    }
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: envelope: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }

  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(plaintext));
  } catch (cause) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: the decrypted entries are not JSON`,
      {
        cause,
      },
    );
  } finally {
    plaintext.fill(0);
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: expected the entries to be a JSON object`,
    );
  }

  const entries = new Map<string, ProvisionKeystoreEntry>();
  for (const [email, entry] of Object.entries(value)) {
    const where = `keystore ${path}: entries[${JSON.stringify(email)}]`;
    if (!isNormalizedEmail(email)) {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `${where}: expected a normalized email address`,
      );
    }
    entries.set(email, validateKeystoreEntry(entry, where));
  }

  return entries;
}

function isNormalizedEmail(email: string): boolean {
  try {
    return normalizeEmail(email) === email;
  } catch {
    return false;
  }
}

function normalizeServerUrl(serverUrl: string): string {
  return new URL(serverUrl).href.replace(/\/+$/, '');
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return 'its directory does not exist';
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return 'permission denied';
  }
  return code ?? (error as Error).message;
}
