import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';

/** Length in bytes of the derived key, the scrypt salt, the nonce and the tag. */
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

/** scrypt block size and parallelism of version 2 keystores (the common interactive setting). */
export const KEYSTORE_SCRYPT_R = 8;
export const KEYSTORE_SCRYPT_P = 1;

/** Domain-separation label of the key check value. */
const KEY_CHECK_LABEL = 'provisions keystore key check, version 2';

/** The key derivation parameters stored in clear in a version 2 keystore. */
export interface KeystoreKdf {
  name: 'scrypt';
  /** log2 of the scrypt cost N. */
  log2_n: number;
  r: number;
  p: number;
  /** 16 random bytes as base64url. */
  salt: string;
}

/** A key derived from the passphrase, kept for the whole run so scrypt runs once. */
export interface KeystoreKey {
  readonly kdf: KeystoreKdf;
  /** HMAC-SHA-256 of a fixed label under the key, base64url, which distinguishes a wrong passphrase from a damaged file. */
  readonly keyCheck: string;
  /** The 32-byte key. */
  readonly key: Uint8Array;
}

/** Creates a new random salt for a keystore scrypt cost `log2N`. */
export function newKdf(log2N: number): KeystoreKdf {
  return {
    name: 'scrypt',
    log2_n: log2N,
    r: KEYSTORE_SCRYPT_R,
    p: KEYSTORE_SCRYPT_P,
    salt: randomBytes(SALT_LENGTH).toString('base64url'),
  };
}

/**
 * Derives the 32-byte keystore key from the passphrase (NFC, UTF-8) with scrypt.
 * The memory limit is the exact need, 128 * r * (N + p + 1) bytes plus slack.
 */
export async function deriveKeystoreKey(
  passphrase: string,
  kdf: KeystoreKdf,
): Promise<KeystoreKey> {
  const N = 2 ** kdf.log2_n;
  const key = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      Buffer.from(passphrase.normalize('NFC'), 'utf8'),
      Buffer.from(kdf.salt, 'base64url'),
      KEY_LENGTH,
      { N, r: kdf.r, p: kdf.p, maxmem: 128 * kdf.r * (N + kdf.p + 2) },
      (error, derived) => (error === null ? resolve(derived) : reject(error)),
    );
  });

  const keyCheck = createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('base64url');
  return { kdf, keyCheck, key };
}

/** Tells whether `key` is the key whose check value is `expected`, in constant time. */
export function keyCheckMatches(key: KeystoreKey, expected: string): boolean {
  const actual = Buffer.from(key.keyCheck, 'base64url');
  const stored = Buffer.from(expected, 'base64url');
  return actual.length === stored.length && timingSafeEqual(actual, stored);
}

/**
 * Encrypts with ChaCha20-Poly1305 under a fresh random 12-byte nonce, with
 * `associatedData` authenticated. Random nonces are safe for far more writes
 * than a keystore makes (the collision risk stays below 2^-32 up to 2^32 writes).
 *
 * @returns the nonce and the ciphertext followed by its 16-byte tag, as base64url.
 */
export function encryptEntries(
  key: KeystoreKey,
  plaintext: Uint8Array,
  associatedData: string,
): { nonce: string; ciphertext: string } {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('chacha20-poly1305', key.key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'), { plaintextLength: plaintext.length });

  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce: nonce.toString('base64url'), ciphertext: body.toString('base64url') };
}

/**
 * Decrypts what {@link encryptEntries} produced.
 *
 * @returns the plaintext, or undefined when the tag does not verify (a
 *   modified file, since the caller checked the key first).
 */
export function decryptEntries(
  key: KeystoreKey,
  nonce: string,
  ciphertext: string,
  associatedData: string,
): Uint8Array | undefined {
  const nonceBytes = Buffer.from(nonce, 'base64url');
  const body = Buffer.from(ciphertext, 'base64url');
  if (nonceBytes.length !== NONCE_LENGTH || body.length < TAG_LENGTH) {
    return undefined;
  }

  const decipher = createDecipheriv('chacha20-poly1305', key.key, nonceBytes, {
    authTagLength: TAG_LENGTH,
  });
  const encrypted = body.subarray(0, body.length - TAG_LENGTH);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'), { plaintextLength: encrypted.length });
  decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));

  try {
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch {
    return undefined;
  }
}
