import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes } from '@noble/hashes/utils.js';

import { type Bytes, concatBytes, copyBytes, describeNumber, describeType, wipe } from './bytes.js';
import { CryptoError } from './errors.js';
import { assertOptions } from './options.js';
import {
  encodeEnvelopeHeader,
  isAcceptedScryptN,
  NONCE_LENGTH,
  parseEnvelope,
  SALT_LENGTH,
  SCRYPT_DEFAULT_N,
  SCRYPT_MAX_N,
  SCRYPT_MIN_N,
  SCRYPT_P,
  SCRYPT_R,
  type ScryptParameters,
} from './passphrase-envelope.js';

const KEY_LENGTH = 32;

/** Options of {@link encryptWithPassphrase}. */
export interface PassphraseOptions {
  /**
   * scrypt cost N, a power of two from `SCRYPT_MIN_N` (2^14) to `SCRYPT_MAX_N` (2^20).
   * Defaults to `SCRYPT_DEFAULT_N` (2^17). Lower it only to speed up tests: each halving
   * halves the work of guessing a passphrase.
   */
  scryptN?: number | undefined;
}

function encodePassphrase(passphrase: unknown): Bytes {
  if (typeof passphrase !== 'string') {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `passphrase: expected a string, received ${describeType(passphrase)}`,
    );
  }

  if (passphrase.length === 0) {
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      'passphrase: expected at least 1 character, received 0',
    );
  }

  // UTF-8 cannot encode a lone surrogate, and TextEncoder replaces each one with U+FFFD, so
  // passphrases that differ only there would derive the same key. With the u flag,
  // \p{Surrogate} matches only surrogates that are not part of a pair.
  if (/\p{Surrogate}/u.test(passphrase)) {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      'passphrase: expected well-formed Unicode, received a string with a lone surrogate',
    );
  }

  // NFC makes the same passphrase typed on different systems (precomposed or combining
  // accents) derive the same key.
  return new TextEncoder().encode(passphrase.normalize('NFC'));
}

async function deriveKey(passphrase: Bytes, salt: Bytes, scrypt: ScryptParameters): Promise<Bytes> {
  const { N, r, p } = scrypt;

  // noble rejects a run that needs more than `maxmem` bytes. The limit is set to the exact
  // need, 128 * r * (N + p + 1) bytes, because N is already capped at SCRYPT_MAX_N.
  const key = await scryptAsync(passphrase, salt, {
    N,
    r,
    p,
    dkLen: KEY_LENGTH,
    maxmem: 128 * r * (N + p + 1),
  });
  return new Uint8Array(key);
}

/**
 * Encrypts data under a passphrase: scrypt (memory-hard) derives a 256-bit key from the
 * passphrase and a random 16-byte salt, and XChaCha20-Poly1305 with a random 24-byte nonce
 * encrypts the data. The result is a self-describing envelope, version 1, that stores the
 * scrypt parameters, salt and nonce in a 49-byte header authenticated as associated data.
 *
 * The passphrase is normalized to Unicode NFC and encoded as UTF-8. It must be well-formed
 * Unicode: a lone surrogate (half of a UTF-16 surrogate pair) has no UTF-8 encoding.
 *
 * @param plaintext - the data, any length; not modified.
 * @param passphrase - a non-empty string of well-formed Unicode.
 * @param options - `scryptN`, see {@link PassphraseOptions}.
 * @returns the envelope, `plaintext.length + PASSPHRASE_ENVELOPE_OVERHEAD` (65) bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad argument. A
 *   passphrase with a lone surrogate and `options` that are neither an object nor undefined
 *   are `ERR_INVALID_TYPE`. `ERR_INVALID_OPTION` if `scryptN` is not an accepted power of
 *   two.
 * @example
 * ```ts
 * import { decryptWithPassphrase, encryptWithPassphrase } from '@provisions/crypto';
 *
 * const envelope = await encryptWithPassphrase(keystoreBytes, passphrase);
 * const again = await decryptWithPassphrase(envelope, passphrase);
 * ```
 */
export async function encryptWithPassphrase(
  plaintext: Uint8Array,
  passphrase: string,
  options?: PassphraseOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  assertOptions(options);

  const N = options?.scryptN ?? SCRYPT_DEFAULT_N;
  if (!isAcceptedScryptN(N)) {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `options.scryptN: expected a power of two from ${SCRYPT_MIN_N} (2^14) to ${SCRYPT_MAX_N} (2^20), received ${describeNumber(N)}`,
    );
  }

  const message = copyBytes(plaintext, 'plaintext');
  const password = encodePassphrase(passphrase);
  const salt = new Uint8Array(randomBytes(SALT_LENGTH));
  const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
  const header = encodeEnvelopeHeader(N, salt, nonce);

  let key: Bytes;
  try {
    key = await deriveKey(password, salt, { N, r: SCRYPT_R, p: SCRYPT_P });
  } finally {
    wipe(password);
  }

  try {
    const ciphertext = xchacha20poly1305(key, nonce, header).encrypt(message);
    return concatBytes(header, ciphertext);
  } finally {
    wipe(key, message);
  }
}

/**
 * Decrypts an envelope made by {@link encryptWithPassphrase}.
 *
 * A wrong passphrase and a modified envelope cannot be distinguished: both make the Poly1305
 * tag check fail, so both reject with `ERR_WRONG_PASSPHRASE`. Header fields that are invalid
 * on their own (magic, version, scrypt parameters out of range) are reported before any key
 * derivation, as `ERR_INVALID_ENVELOPE`.
 *
 * @param envelope - the envelope bytes; not modified.
 * @param passphrase - the passphrase used to encrypt, a string of well-formed Unicode.
 * @returns the plaintext.
 * @throws CryptoError `ERR_WRONG_PASSPHRASE` for a wrong passphrase or a modified envelope;
 *   `ERR_INVALID_ENVELOPE` for an invalid header; `ERR_INVALID_LENGTH` if `envelope` is
 *   shorter than 65 bytes or the passphrase is empty; `ERR_INVALID_TYPE` for a bad argument,
 *   including a passphrase with a lone surrogate.
 * @example
 * ```ts
 * import { CryptoError, decryptWithPassphrase } from '@provisions/crypto';
 *
 * try {
 *   await decryptWithPassphrase(envelope, passphrase);
 * } catch (error) {
 *   if (error instanceof CryptoError && error.code === 'ERR_WRONG_PASSPHRASE') {
 *     // ask for the passphrase again
 *   }
 * }
 * ```
 */
export async function decryptWithPassphrase(
  envelope: Uint8Array,
  passphrase: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const parsed = parseEnvelope(copyBytes(envelope, 'envelope'));
  const password = encodePassphrase(passphrase);

  let key: Bytes;
  try {
    key = await deriveKey(password, parsed.salt, parsed.scrypt);
  } finally {
    wipe(password);
  }

  let opened: Uint8Array;
  try {
    opened = xchacha20poly1305(key, parsed.nonce, parsed.header).decrypt(parsed.ciphertext);
  } catch {
    // With a valid header, the only failure left is the Poly1305 tag check.
    throw new CryptoError(
      'ERR_WRONG_PASSPHRASE',
      'decryption failed: wrong passphrase, or the envelope was modified',
    );
  } finally {
    wipe(key);
  }

  const plaintext = new Uint8Array(opened);
  wipe(opened);
  return plaintext;
}
