// Helpers of the sealed-box suites: the uniform open error, and the pieces that build a
// sealed box with tweetnacl's crypto_box or open one with it.
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';

/** The one error of `open` for anything wrong with the box. */
export const OPEN_FAILED = {
  code: 'ERR_OPEN_FAILED',
  message: 'open failed: wrong secret key, or the sealed box was modified',
};

/**
 * Computes the sealed-box nonce with libsodium: BLAKE2b-192 of ephemeral_pk ‖ recipient_pk.
 * Call it after `sodium.ready` has resolved.
 */
export function libsodiumSealNonce(ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array) {
  const input = new Uint8Array(64);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, 32);
  return sodium.crypto_generichash(24, input, null);
}

export function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const result = new Uint8Array(first.length + second.length);
  result.set(first, 0);
  result.set(second, first.length);
  return result;
}

/**
 * Opens a sealed box with tweetnacl's `box.open` and the sealed-box nonce, as libsodium's
 * `crypto_box_seal_open` does. Returns null when the box does not open.
 */
export function tweetnaclOpenSealed(
  sealed: Uint8Array,
  recipient: { publicKey: Uint8Array; secretKey: Uint8Array },
): Uint8Array | null {
  const ephemeralPublicKey = sealed.subarray(0, 32);
  const nonce = libsodiumSealNonce(ephemeralPublicKey, recipient.publicKey);
  return nacl.box.open(sealed.subarray(32), nonce, ephemeralPublicKey, recipient.secretKey);
}
