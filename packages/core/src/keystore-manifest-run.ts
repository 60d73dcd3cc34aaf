import { isRfc3339Timestamp, KeystoreError } from './provision-keystore.js';

/**
 * The `email` of every manifest run record. Such a record is a deletion of this address with a
 * `manifest_run` member, so readers that predate manifest run records apply it as the deletion
 * of an entry that never exists. The `.invalid` top-level domain is reserved (RFC 2606), so no
 * recipient has this address, and `FileKeystore.put` rejects it.
 */
export const MANIFEST_RUN_EMAIL = 'manifest-runs@keystore.invalid';

/** Length of a hex SHA-256 digest, in characters. */
const SHA256_HEX_LENGTH = 64;

/**
 * A run of a manifest that `FileKeystore.recordManifestRun` stored, so that a later run of the
 * same content for this organization and server can find it.
 */
export interface KeystoreManifestRun {
  /** SHA-256 of the manifest's content, 64 lowercase hex characters. */
  manifest_sha256: string;
  /** RFC 3339 time the run started. */
  started_at: string;
  /** Absolute path of the run's journal. */
  journal: string;
}

/**
 * Checks the `manifest_run` member of a keystore record and returns the run.
 *
 * @param where - the member's name in error messages.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming the field and what was expected.
 */
export function parseManifestRun(value: unknown, where: string): KeystoreManifestRun {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `${where}: expected an object`);
  }

  const record = value as Record<string, unknown>;
  if (!isSha256Hex(record.manifest_sha256)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}.manifest_sha256: expected ${SHA256_HEX_LENGTH} lowercase hex characters`,
    );
  }
  if (!isRfc3339Timestamp(record.started_at)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}.started_at: expected an RFC 3339 timestamp`,
    );
  }
  if (typeof record.journal !== 'string' || record.journal === '') {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}.journal: expected a non-empty string`,
    );
  }

  return {
    manifest_sha256: record.manifest_sha256,
    started_at: record.started_at,
    journal: record.journal,
  };
}

/** Tells whether `value` is a SHA-256 digest as 64 lowercase hex characters. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
