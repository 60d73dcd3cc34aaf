import { PUBLIC_KEY_LENGTH } from '@provisions/crypto';

import { checkEncodedBytes, isRfc3339Timestamp, KeystoreError } from './provision-keystore.js';

/**
 * A provision that was revoked and whose entry `FileKeystore.recordRevocation` removed.
 * The keystore stores it so that a later run can tell a revoked provision from a lost entry.
 */
export interface KeystoreRevocation {
  /** Normalized email of the removed entry. */
  email: string;
  /** Provision public key, 32 bytes as 43 base64url characters. */
  public_key: string;
  /** RFC 3339 time the revocation was recorded. */
  revoked_at: string;
}

/**
 * Checks the `revoked` member of a keystore record for `email` and returns the revocation.
 *
 * @param where - the member's name in error messages.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming the field and what was expected.
 */
export function parseRevocation(value: unknown, email: string, where: string): KeystoreRevocation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `${where}: expected an object`);
  }

  const record = value as Record<string, unknown>;
  checkEncodedBytes(record.public_key, PUBLIC_KEY_LENGTH, `${where}.public_key`);
  if (!isRfc3339Timestamp(record.revoked_at)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}.revoked_at: expected an RFC 3339 timestamp`,
    );
  }

  return { email, public_key: record.public_key as string, revoked_at: record.revoked_at };
}
