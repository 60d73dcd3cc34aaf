import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { blake2b } from '@noble/hashes/blake2.js';

import { type Bytes, concatBytes, wipe } from './bytes.js';
import { PUBLIC_KEY_LENGTH } from './x25519.js';

/** Length in bytes of an XSalsa20 nonce. @internal */
export const NONCE_LENGTH = 24;

// "expand 32-byte k", the Salsa20 constant that HSalsa20 uses in crypto_box_beforenm.
const SIGMA = new Uint32Array(new Uint8Array(new TextEncoder().encode('expand 32-byte k')).buffer);

/**
 * Derives the XSalsa20-Poly1305 key from an X25519 shared secret, as NaCl's
 * crypto_box_beforenm does: HSalsa20 keyed by the shared secret over a 16-byte zero input.
 * The caller wipes both the shared secret and the returned key.
 *
 * noble's `hsalsa` works on native-endian 32-bit word views of byte strings and writes its
 * output the same way, so the byte view of `out` is the key on any host.
 *
 * @internal
 */
export function deriveBoxKey(sharedSecret: Bytes): Bytes {
  const keyBytes = new Uint8Array(sharedSecret);
  const key = new Uint32Array(keyBytes.buffer);
  const input = new Uint32Array(4);
  const out = new Uint32Array(8);

  hsalsa(SIGMA, key, input, out);

  wipe(keyBytes);
  return new Uint8Array(out.buffer);
}

/**
 * Computes the sealed-box nonce, BLAKE2b with 24-byte output of ephemeral_pk ‖ recipient_pk.
 *
 * @internal
 */
export function sealNonce(ephemeralPublicKey: Bytes, recipientPublicKey: Bytes): Bytes {
  const input = concatBytes(ephemeralPublicKey, recipientPublicKey);
  return blake2b(input, { dkLen: NONCE_LENGTH }) as Bytes;
}

/**
 * Encrypts with XSalsa20-Poly1305 (NaCl crypto_secretbox) and returns
 * `prefix ‖ tag (16) ‖ ciphertext` as one new array. Wipes `key`.
 *
 * @internal
 */
export function secretboxSeal(key: Bytes, nonce: Bytes, message: Bytes, prefix: Bytes): Bytes {
  try {
    return concatBytes(prefix, xsalsa20poly1305(key, nonce).encrypt(message));
  } finally {
    wipe(key);
  }
}

/**
 * Decrypts XSalsa20-Poly1305 `tag (16) ‖ ciphertext` and wipes `key`. noble's decrypt throws
 * on a wrong tag before releasing any plaintext.
 *
 * @internal
 */
export function secretboxOpen(key: Bytes, nonce: Bytes, box: Bytes): Bytes {
  try {
    // noble's output can be a view into a larger scratch buffer, so the plaintext is copied
    // into an array of its own and the scratch buffer wiped.
    const opened = xsalsa20poly1305(key, nonce).decrypt(box);
    const plaintext = new Uint8Array(opened);
    wipe(opened);
    return plaintext;
  } finally {
    wipe(key);
  }
}

/** Returns the 32-byte ephemeral public key at the start of a sealed box. @internal */
export function ephemeralKeyOf(sealed: Bytes): Bytes {
  return sealed.subarray(0, PUBLIC_KEY_LENGTH);
}
