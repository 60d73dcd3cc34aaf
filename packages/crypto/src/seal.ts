import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { blake2b } from '@noble/hashes/blake2.js';

import {
  type Bytes,
  concatBytes,
  copyBytes,
  copyBytesOfLength,
  copyBytesOfMinLength,
  wipe,
} from './bytes.js';
import { CryptoError } from './errors.js';
import {
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
  x25519KeyPair,
  x25519PublicKey,
  x25519SharedSecret,
} from './x25519.js';

const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;

/**
 * Bytes that {@link seal} adds to a plaintext: the 32-byte ephemeral public key and the
 * 16-byte Poly1305 tag.
 */
export const SEAL_OVERHEAD = PUBLIC_KEY_LENGTH + TAG_LENGTH;

// "expand 32-byte k", the Salsa20 constant that HSalsa20 uses in crypto_box_beforenm.
const SIGMA = new TextEncoder().encode('expand 32-byte k');

const OPEN_FAILED_MESSAGE = 'open failed: wrong secret key, or the sealed box was modified';

/**
 * Derives the XSalsa20-Poly1305 key from an X25519 shared secret, as libsodium's
 * crypto_box_beforenm does: HSalsa20 keyed by the shared secret over a 16-byte zero input.
 *
 * noble's `hsalsa` works on native-endian 32-bit word views of byte strings and writes its
 * output the same way, so the byte view of `out` is the key on any host.
 */
function boxKey(sharedSecret: Bytes): Bytes {
  const sigma = new Uint32Array(new Uint8Array(SIGMA).buffer);
  const key = new Uint32Array(new Uint8Array(sharedSecret).buffer);
  const input = new Uint32Array(4);
  const out = new Uint32Array(8);

  hsalsa(sigma, key, input, out);

  const result = new Uint8Array(out.buffer);
  wipe(new Uint8Array(key.buffer));
  return result;
}

/** Computes the sealed-box nonce, BLAKE2b with 24-byte output of ephemeral_pk ‖ recipient_pk. */
function sealNonce(ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  return blake2b(concatBytes(ephemeralPublicKey, recipientPublicKey), { dkLen: NONCE_LENGTH });
}

/**
 * Encrypts a message to a recipient's X25519 public key as an anonymous sealed box,
 * byte-compatible with libsodium `crypto_box_seal`.
 *
 * A fresh ephemeral key pair is generated for every call and its secret key is wiped
 * afterwards, so the sender cannot open the box either.
 *
 * @param plaintext - any bytes, including empty; not modified.
 * @param recipientPublicKey - 32-byte X25519 public key; not modified.
 * @returns `ephemeral_pk (32) ‖ tag (16) ‖ ciphertext`, `plaintext.length + SEAL_OVERHEAD`
 *   (48) bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad argument;
 *   `ERR_LOW_ORDER_POINT` if `recipientPublicKey` is a low-order point, for which every
 *   shared secret is zero and the box would be readable by anyone.
 * @example
 * ```ts
 * import { open, seal } from '@provisions/crypto';
 *
 * const sealed = await seal(new TextEncoder().encode('hello'), recipientPublicKey);
 * const opened = await open(sealed, recipientSecretKey);
 * ```
 */
export async function seal(
  plaintext: Uint8Array,
  recipientPublicKey: Uint8Array,
): Promise<Uint8Array> {
  const message = copyBytes(plaintext, 'plaintext');
  const recipient = copyBytesOfLength(recipientPublicKey, 'recipientPublicKey', PUBLIC_KEY_LENGTH);
  const ephemeral = await x25519KeyPair();

  try {
    const shared = await x25519SharedSecret(ephemeral.secretKey, recipient, 'recipientPublicKey');
    const key = boxKey(shared);
    wipe(shared);

    const nonce = sealNonce(ephemeral.publicKey, recipient);
    const box = xsalsa20poly1305(key, nonce).encrypt(message);
    wipe(key);

    return concatBytes(ephemeral.publicKey, box);
  } finally {
    wipe(ephemeral.secretKey, message);
  }
}

/**
 * Decrypts a sealed box made by {@link seal} or by libsodium `crypto_box_seal`.
 *
 * Every failure that concerns the box contents (a wrong key, any modified byte, a low-order
 * ephemeral key) rejects with the same code and message, so that the error reveals to an attacker
 * nothing about which check failed.
 *
 * @param sealed - `ephemeral_pk (32) ‖ tag (16) ‖ ciphertext`, at least 48 bytes; not
 *   modified.
 * @param recipientSecretKey - the recipient's 32-byte X25519 secret key; not modified.
 * @returns the plaintext, `sealed.length - 48` bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` for a non-Uint8Array argument; `ERR_INVALID_LENGTH`
 *   if `sealed` is shorter than 48 bytes or the key is not 32 bytes; `ERR_OPEN_FAILED` for
 *   anything wrong with the box itself.
 * @example
 * ```ts
 * import { open } from '@provisions/crypto';
 *
 * const plaintext = await open(sealed, recipientSecretKey);
 * ```
 */
export async function open(
  sealed: Uint8Array,
  recipientSecretKey: Uint8Array,
): Promise<Uint8Array> {
  const secretKey = copyBytesOfLength(recipientSecretKey, 'recipientSecretKey', SECRET_KEY_LENGTH);
  const box = copyBytesOfMinLength(sealed, 'sealed', SEAL_OVERHEAD);

  try {
    const recipientPublicKey = await x25519PublicKey(secretKey);
    const ephemeralPublicKey = box.subarray(0, PUBLIC_KEY_LENGTH);
    return await openBox(box, secretKey, ephemeralPublicKey, recipientPublicKey);
  } finally {
    wipe(secretKey);
  }
}

async function openBox(
  box: Bytes,
  secretKey: Bytes,
  ephemeralPublicKey: Bytes,
  recipientPublicKey: Bytes,
): Promise<Uint8Array> {
  let key: Bytes | undefined;

  // The failures that the box contents can cause, a low-order ephemeral key
  // (ERR_LOW_ORDER_POINT) and a wrong Poly1305 tag (noble throws), become the one uniform
  // error, without a cause, so nothing distinguishes them. Only a failure of the platform's
  // WebCrypto itself passes through unchanged.
  try {
    const shared = await x25519SharedSecret(secretKey, ephemeralPublicKey, 'sealed');
    key = boxKey(shared);
    wipe(shared);

    const nonce = sealNonce(ephemeralPublicKey, recipientPublicKey);
    const opened = xsalsa20poly1305(key, nonce).decrypt(box.subarray(PUBLIC_KEY_LENGTH));
    const plaintext = new Uint8Array(opened);
    wipe(opened);
    return plaintext;
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'ERR_WEBCRYPTO_FAILED') {
      throw error;
    }
    throw new CryptoError('ERR_OPEN_FAILED', OPEN_FAILED_MESSAGE);
  } finally {
    if (key !== undefined) {
      wipe(key);
    }
  }
}
