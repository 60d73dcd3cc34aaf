import { type Bytes, concatBytes } from './bytes.js';
import { CryptoError } from './errors.js';

// Layout of a version 1 passphrase envelope (all integers are single bytes):
//
//   offset  length  field
//   0       4       magic, ASCII "PVPE"
//   4       1       format version, 1
//   5       1       key derivation function, 1 = scrypt
//   6       1       log2 of the scrypt cost N
//   7       1       scrypt block size r, 8 in version 1
//   8       1       scrypt parallelism p, 1 in version 1
//   9       16      scrypt salt
//   25      24      XChaCha20-Poly1305 nonce
//   49      n + 16  XChaCha20-Poly1305 ciphertext followed by its tag
//
// Bytes 0 to 48 are the associated data of the AEAD, so changing any KDF parameter, the
// salt or the nonce makes decryption fail just as a wrong passphrase does.

const MAGIC = new TextEncoder().encode('PVPE');
const FORMAT_VERSION = 1;
const KDF_SCRYPT = 1;

/** Length in bytes of the random scrypt salt. @internal */
export const SALT_LENGTH = 16;

/** Length in bytes of the random XChaCha20-Poly1305 nonce. @internal */
export const NONCE_LENGTH = 24;

const HEADER_LENGTH = MAGIC.length + 5 + SALT_LENGTH + NONCE_LENGTH;

/** Bytes that an envelope adds to the plaintext: the 49-byte header and the 16-byte tag. */
export const PASSPHRASE_ENVELOPE_OVERHEAD = 65;

/** Default scrypt cost N = 2^17 (128 MiB of memory with r = 8). */
export const SCRYPT_DEFAULT_N = 131_072;

/**
 * Lowest scrypt cost N accepted, 2^14 (16 MiB with r = 8): the interactive-login setting of
 * the scrypt paper (Percival, 2009). Envelopes with a lower N are rejected on decryption too.
 */
export const SCRYPT_MIN_N = 16_384;

/**
 * Highest scrypt cost N accepted, 2^20 (1 GiB with r = 8). It bounds the memory that
 * decrypting a hostile envelope can demand.
 */
export const SCRYPT_MAX_N = 1_048_576;

/** scrypt block size r of version 1 envelopes. @internal */
export const SCRYPT_R = 8;

/** scrypt parallelism p of version 1 envelopes. @internal */
export const SCRYPT_P = 1;

const MIN_LOG2_N = Math.log2(SCRYPT_MIN_N);
const MAX_LOG2_N = Math.log2(SCRYPT_MAX_N);

/** The scrypt parameters stored in an envelope header. @internal */
export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** An envelope split into its fields; `header` is the associated data. @internal */
export interface ParsedEnvelope {
  readonly header: Bytes;
  readonly scrypt: ScryptParameters;
  readonly salt: Bytes;
  readonly nonce: Bytes;
  readonly ciphertext: Bytes;
}

/** Returns whether `N` is a power of two that version 1 envelopes accept. @internal */
export function isAcceptedScryptN(N: number): boolean {
  return Number.isInteger(N) && N >= SCRYPT_MIN_N && N <= SCRYPT_MAX_N && (N & (N - 1)) === 0;
}

/** Encodes the 49-byte header of a version 1 envelope for already checked values. @internal */
export function encodeEnvelopeHeader(N: number, salt: Uint8Array, nonce: Uint8Array): Bytes {
  const parameters = Uint8Array.of(FORMAT_VERSION, KDF_SCRYPT, Math.log2(N), SCRYPT_R, SCRYPT_P);
  return concatBytes(MAGIC, parameters, salt, nonce);
}

function invalidEnvelope(message: string): CryptoError {
  return new CryptoError('ERR_INVALID_ENVELOPE', `envelope: ${message}`);
}

/**
 * Splits an envelope into its fields and checks every header field that can be checked
 * without the passphrase.
 *
 * @throws CryptoError `ERR_INVALID_LENGTH` if shorter than the 65-byte overhead;
 *   `ERR_INVALID_ENVELOPE` for a wrong magic, an unknown version or KDF, or scrypt
 *   parameters outside the accepted ranges.
 *
 * @internal
 */
export function parseEnvelope(envelope: Bytes): ParsedEnvelope {
  if (envelope.length < PASSPHRASE_ENVELOPE_OVERHEAD) {
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `envelope: expected at least ${PASSPHRASE_ENVELOPE_OVERHEAD} bytes, received ${envelope.length}`,
    );
  }

  for (let i = 0; i < MAGIC.length; i++) {
    if (envelope[i] !== MAGIC[i]) {
      throw invalidEnvelope('not a passphrase envelope, the first 4 bytes are not "PVPE"');
    }
  }

  let offset = MAGIC.length;
  const version = envelope[offset++] as number;
  const kdf = envelope[offset++] as number;
  const log2N = envelope[offset++] as number;
  const r = envelope[offset++] as number;
  const p = envelope[offset++] as number;

  if (version !== FORMAT_VERSION) {
    throw invalidEnvelope(`unsupported format version ${version}, expected ${FORMAT_VERSION}`);
  }

  if (kdf !== KDF_SCRYPT) {
    throw invalidEnvelope(`unsupported key derivation function ${kdf}, expected 1 (scrypt)`);
  }

  if (log2N < MIN_LOG2_N || log2N > MAX_LOG2_N) {
    throw invalidEnvelope(
      `scrypt N = 2^${log2N} is outside the accepted range 2^${MIN_LOG2_N} to 2^${MAX_LOG2_N}`,
    );
  }

  if (r !== SCRYPT_R || p !== SCRYPT_P) {
    throw invalidEnvelope(
      `scrypt r = ${r} and p = ${p}, expected r = ${SCRYPT_R} and p = ${SCRYPT_P} in version ${FORMAT_VERSION}`,
    );
  }

  const salt = envelope.slice(offset, offset + SALT_LENGTH);
  offset += SALT_LENGTH;
  const nonce = envelope.slice(offset, offset + NONCE_LENGTH);
  offset += NONCE_LENGTH;

  return {
    header: envelope.slice(0, HEADER_LENGTH),
    scrypt: { N: 2 ** log2N, r, p },
    salt,
    nonce,
    ciphertext: envelope.slice(HEADER_LENGTH),
  };
}
