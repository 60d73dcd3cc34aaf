import type { KeystoreKdf } from './keystore-cipher.js';
import { KeystoreError } from './provision-keystore.js';

/** Value of the `format` field of a keystore file. */
export const KEYSTORE_FORMAT = 'provisions-keystore';

/** Version of the keystore files this package writes. Version 1 files are still read. */
export const KEYSTORE_VERSION = 2;

/** Version 1 keystore: the entries in an `encryptWithPassphrase` envelope (scrypt on every write). */
export interface KeystoreFileV1 {
  format: typeof KEYSTORE_FORMAT;
  version: 1;
  organization_id: string;
  server_url: string;
  /** base64url of `encryptWithPassphrase` of the entries JSON. */
  envelope: string;
}

/**
 * The first line of a version 2 keystore file. The organization, server and
 * key derivation parameters are in clear, so that opening the file for
 * another organization fails before any decryption, and they are part of the
 * associated data of every record, so changing any of them makes decryption fail.
 */
export interface KeystoreFile {
  format: typeof KEYSTORE_FORMAT;
  version: typeof KEYSTORE_VERSION;
  /** The organization whose provisions the entries are. */
  organization_id: string;
  /** The API server the provisions were created on. */
  server_url: string;
  /** scrypt parameters and salt; the salt stays the same as long as the file exists. */
  kdf: KeystoreKdf;
  /** HMAC-SHA-256 under the derived key of a fixed label, base64url (43 characters). */
  key_check: string;
}

/**
 * One line after the header: ChaCha20-Poly1305 of the UTF-8 JSON
 * `{ "email": "<normalized>", "entry": { public_key, user_key_share, created_at } }`
 * or `{ "email": "<normalized>", "deleted": true }`; later lines replace earlier ones.
 * A deletion after a revocation adds `"revoked": { public_key, revoked_at }`, which readers
 * that predate it ignore, so they still remove the entry. A manifest run is a deletion of
 * `manifest-runs@keystore.invalid` with `"manifest_run": { manifest_sha256, started_at, journal }`,
 * which such readers apply as the deletion of an entry that never exists.
 */
export interface KeystoreRecordLine {
  /** Nonce, 12 bytes as base64url. */
  n: string;
  /** Ciphertext with its 16-byte tag appended, base64url. */
  c: string;
}

/** A version 2 file as read: header, the complete record lines, and whether a torn last line was left out. */
export interface ParsedKeystoreLog {
  version: 2;
  header: KeystoreFile;
  records: KeystoreRecordLine[];
  /** A last line without its line feed: a write that a crash interrupted, never acknowledged. */
  tornTail: boolean;
}

/**
 * Returns the associated data shared by the records of a version 2 file: its
 * header fields in a fixed order. Each record adds its own line number.
 */
export function keystoreAssociatedData(file: KeystoreFile): string {
  const { kdf } = file;
  return JSON.stringify([
    file.format,
    file.version,
    file.organization_id,
    file.server_url,
    kdf.name,
    kdf.log2_n,
    kdf.r,
    kdf.p,
    kdf.salt,
    file.key_check,
  ]);
}

/**
 * Parses the text of a keystore file: version 1 (one JSON object) or
 * version 2 (a header line, then one record per line).
 *
 * @param text - the file content.
 * @param path - the file path, for error messages.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` naming the line or field that is wrong.
 */
export function parseKeystoreFile(text: string, path: string): ParsedKeystoreLog | KeystoreFileV1 {
  // This package writes a new file whole and renames it into place, so an empty one was
  // truncated by another program or never written by it.
  if (text.trim() === '') {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path} is empty: it has no header line, so another program truncated it or provisions did not write it; restore it from a backup, or check the path`,
    );
  }

  const firstBreak = text.indexOf('\n');
  const headerText = firstBreak === -1 ? text : text.slice(0, firstBreak);

  let value: unknown;
  try {
    value = JSON.parse(headerText);
  } catch {
    value = undefined;
  }
  if (value === undefined) {
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new KeystoreError('ERR_KEYSTORE_INVALID', `keystore ${path} is not valid JSON`, {
        cause,
      });
    }
  }

  const file = checkHeader(value, path);
  if (file.version === 1) {
    return file as unknown as KeystoreFileV1;
  }

  const header = file as unknown as KeystoreFile;
  const lines = firstBreak === -1 ? [] : text.slice(firstBreak + 1).split('\n');
  const last = lines.pop();
  const tornTail = last !== undefined && last !== '';

  const records = lines.map((line, index) => parseRecordLine(line, index + 2, path));
  return { version: 2, header, records, tornTail };
}

function checkHeader(value: unknown, path: string): Record<string, unknown> {
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

  if (file.version !== 1 && file.version !== KEYSTORE_VERSION) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: version: expected 1 or ${KEYSTORE_VERSION}, received ${JSON.stringify(file.version)}`,
    );
  }

  const stringFields =
    file.version === 1
      ? (['organization_id', 'server_url', 'envelope'] as const)
      : (['organization_id', 'server_url', 'key_check'] as const);
  for (const field of stringFields) {
    if (typeof file[field] !== 'string' || file[field] === '') {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `keystore ${path}: ${field}: expected a non-empty string`,
      );
    }
  }

  if (file.version === KEYSTORE_VERSION) {
    checkKdf(file.kdf, path);
  }
  return file;
}

function parseRecordLine(line: string, lineNumber: number, path: string): KeystoreRecordLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    value = undefined;
  }

  const record = value as Partial<KeystoreRecordLine> | undefined;
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.n !== 'string' ||
    typeof record.c !== 'string'
  ) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}:${lineNumber}: expected a record { "n": nonce, "c": ciphertext }; the file was modified or damaged, restore it from a backup`,
    );
  }
  return { n: record.n, c: record.c };
}

function checkKdf(value: unknown, path: string): void {
  const kdf = value as Partial<KeystoreKdf> | null;
  const valid =
    typeof kdf === 'object' &&
    kdf !== null &&
    kdf.name === 'scrypt' &&
    Number.isInteger(kdf.log2_n) &&
    (kdf.log2_n as number) >= 14 &&
    (kdf.log2_n as number) <= 20 &&
    kdf.r === 8 &&
    kdf.p === 1 &&
    typeof kdf.salt === 'string' &&
    /^[A-Za-z0-9_-]{22}$/.test(kdf.salt);

  if (!valid) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: kdf: expected { name: "scrypt", log2_n: 14 to 20, r: 8, p: 1, salt: 16 bytes as base64url }`,
    );
  }
}

/** Serializes a header or record as one line with its line feed. */
export function serializeKeystoreLine(value: KeystoreFile | KeystoreRecordLine): string {
  return `${JSON.stringify(value)}\n`;
}
