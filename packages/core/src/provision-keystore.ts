import { normalizeEmail } from '@provisions/api';
import { decodeBase64Url, PUBLIC_KEY_LENGTH, SHARE_LENGTH } from '@provisions/crypto';

import { ProvisionsError } from './provisions-error.js';

/**
 * An organization's record of one provision it created. It is enough to
 * rebuild the invitation link, and only the user key share in it is unknown
 * to the server. Field names match the keystore file format.
 */
export interface ProvisionKeystoreEntry {
  /** Provision public key, 32 bytes as 43 base64url characters. */
  public_key: string;
  /** User key share, 33 bytes as 44 base64url characters. A secret: never log it. */
  user_key_share: string;
  /** RFC 3339 time the provision was created. */
  created_at: string;
  /**
   * The server's key share, 33 bytes as 44 base64url characters, kept only
   * while the request that sends the provision to the server may have to be
   * repeated with the same body. Removed once the server confirmed it. A
   * secret: never log it.
   */
  misakey_key_share?: string | undefined;
}

/**
 * Storage for the user key shares of the provisions an organization created,
 * one entry per recipient email. The organization flow reads it to reuse a
 * recipient's provision, so one link covers every box sent to that person.
 *
 * Implementations normalize `email` with `normalizeEmail` from
 * `@provisions/api`. `put` must be durable when it resolves, because the flow
 * saves a new entry before it sends the provision to the server, so that a
 * crash never loses the link to a provision the server stores.
 *
 * `get` must return each entry exactly as it was stored. With a changed
 * `user_key_share`, `sendBoxes` returns a link that cannot be redeemed, and it
 * cannot detect that, because the server lists provisions by public key only.
 * `FileKeystore` authenticates its records, so it rejects a modified one with
 * `ERR_KEYSTORE_INVALID` instead.
 */
export interface ProvisionKeystore {
  /** Returns the entry for `email`, or `undefined` if there is none. */
  get(email: string): Promise<ProvisionKeystoreEntry | undefined>;
  /** Stores `entry` for `email`, replacing an earlier entry. */
  put(email: string, entry: ProvisionKeystoreEntry): Promise<void>;
}

/** Stable codes of {@link KeystoreError}. */
export type KeystoreErrorCode =
  | 'ERR_KEYSTORE_WRONG_PASSPHRASE'
  | 'ERR_KEYSTORE_MISMATCH'
  | 'ERR_KEYSTORE_NOT_FOUND'
  | 'ERR_KEYSTORE_LOCKED'
  | 'ERR_KEYSTORE_INVALID'
  | 'ERR_KEYSTORE_IO'
  | 'ERR_KEYSTORE_INVALID_OPTION';

/**
 * A keystore that cannot be used: wrong passphrase, a file made for another
 * organization or server, a missing file that had to exist, an invalid file or
 * entry, a failed read or write, or invalid options to open it.
 */
export class KeystoreError extends ProvisionsError {
  declare readonly code: KeystoreErrorCode;

  constructor(code: KeystoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A keystore held in memory only, for browsers and tests. Its entries are
 * lost when the object is, so a link it created cannot be rebuilt later.
 */
export class MemoryKeystore implements ProvisionKeystore {
  readonly #entries = new Map<string, ProvisionKeystoreEntry>();

  async get(email: string): Promise<ProvisionKeystoreEntry | undefined> {
    const entry = this.#entries.get(normalizeEmail(email));
    return entry === undefined ? undefined : { ...entry };
  }

  async put(email: string, entry: ProvisionKeystoreEntry): Promise<void> {
    this.#entries.set(normalizeEmail(email), validateKeystoreEntry(entry, 'entry'));
  }
}

const RFC3339_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks that `value` is a keystore entry and returns a copy with exactly its
 * fields: the three required ones and `misakey_key_share` if present.
 *
 * @param value - the candidate entry.
 * @param where - the entry's name in error messages, such as `entries["ada@example.com"]`.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming the field and what was
 *   expected; the message never contains the share.
 */
export function validateKeystoreEntry(value: unknown, where: string): ProvisionKeystoreEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `${where}: expected an object`);
  }

  const record = value as Record<string, unknown>;
  checkEncodedBytes(record.public_key, PUBLIC_KEY_LENGTH, `${where}.public_key`);
  checkEncodedBytes(record.user_key_share, SHARE_LENGTH, `${where}.user_key_share`);

  const createdAt = record.created_at;
  if (!isRfc3339Timestamp(createdAt)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}.created_at: expected an RFC 3339 timestamp`,
    );
  }

  const entry: ProvisionKeystoreEntry = {
    public_key: record.public_key as string,
    user_key_share: record.user_key_share as string,
    created_at: createdAt,
  };
  if (record.misakey_key_share !== undefined) {
    checkEncodedBytes(record.misakey_key_share, SHARE_LENGTH, `${where}.misakey_key_share`);
    entry.misakey_key_share = record.misakey_key_share as string;
  }

  return entry;
}

/** Tells whether `value` is an RFC 3339 timestamp that `Date.parse` reads. */
export function isRfc3339Timestamp(value: unknown): value is string {
  return (
    typeof value === 'string' && RFC3339_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))
  );
}

/**
 * Checks that `value` is `length` bytes as unpadded base64url.
 *
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming `field`.
 */
export function checkEncodedBytes(value: unknown, length: number, field: string): void {
  if (typeof value !== 'string') {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `${field}: expected a base64url string`);
  }

  try {
    decodeBase64Url(value, { length, name: field });
  } catch (cause) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${field}: expected ${length} bytes as unpadded base64url`,
      { cause },
    );
  }
}
