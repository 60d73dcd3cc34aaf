import { HttpProblem } from '../errors/http-problem.js';

/** Bytes of an X25519 public key. */
const PUBLIC_KEY_BYTES = 32;

/**
 * The X25519 public keys of small order, for which every shared secret is all zeros, as
 * libsodium rejects them in `has_small_order`
 * (`src/libsodium/crypto_scalarmult/curve25519/ref10/x25519_ref10.c`). In little-endian
 * hexadecimal, with p = 2^255 - 19: 0 and 1, the two points of order 8, p - 1, and p and
 * p + 1, which encode 0 and 1 again. No other value below 2^255 reduces to one of these
 * modulo p. Bit 255 is clear in each, and RFC 7748 section 5 ignores that bit, so a key
 * with it set is of small order too: 14 encodings in all.
 */
const LOW_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

/** An X25519 public key from a request body, and its location there. */
export interface PublicKeyInput {
  /** RFC 6901 JSON Pointer to the key in the request body. */
  pointer: string;
  /** The key, 43 characters of unpadded base64url, as its schema requires. */
  publicKey: string;
}

/**
 * Tells whether a base64url X25519 public key is one of the low-order points, bit 255
 * ignored. The key is public, so the comparison need not take constant time.
 *
 * @param publicKey - 43 characters of unpadded base64url (32 bytes).
 * @example
 * isLowOrderPublicKey('A'.repeat(43)); // true: the all-zero key
 */
export function isLowOrderPublicKey(publicKey: string): boolean {
  const bytes = Buffer.from(publicKey, 'base64url');
  if (bytes.length !== PUBLIC_KEY_BYTES) {
    return false;
  }

  bytes[PUBLIC_KEY_BYTES - 1] = (bytes[PUBLIC_KEY_BYTES - 1] as number) & 0x7f;
  return LOW_ORDER_POINTS.has(bytes.toString('hex'));
}

/**
 * Rejects X25519 public keys of small order wherever a request gives a key to store or
 * to seal to. A box sealed to such a key is readable by anyone, and a client that
 * checks keys, as `@provisions/crypto` does, fails on every send to it.
 *
 * @throws HttpProblem `invalidPublicKey` (422) with one `errors` entry per such key.
 */
export function rejectLowOrderPublicKeys(inputs: Iterable<PublicKeyInput>): void {
  const errors = [];
  for (const { pointer, publicKey } of inputs) {
    if (isLowOrderPublicKey(publicKey)) {
      errors.push({
        pointer,
        detail: 'is a low-order X25519 point, so every shared secret with it is all zeros',
      });
    }
  }

  if (errors.length > 0) {
    throw new HttpProblem(
      'invalidPublicKey',
      'a public key is a low-order X25519 point; generate a new key pair and send its public key',
      { errors },
    );
  }
}
