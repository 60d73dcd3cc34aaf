import { isLowOrderPublicKey, PUBLIC_KEY_LENGTH } from '@provisions/crypto';
import { HttpProblem } from '../errors/http-problem.js';

/** An X25519 public key from a request body, and its location there. */
export interface PublicKeyInput {
  /** RFC 6901 JSON Pointer to the key in the request body. */
  pointer: string;
  /** The key, 43 characters of unpadded base64url, as its schema requires. */
  publicKey: string;
}

/**
 * Returns whether a base64url X25519 public key is of low order (see `isLowOrderPublicKey` of
 * `@provisions/crypto`), bit 255 ignored.
 *
 * @param publicKey - 43 characters of unpadded base64url (32 bytes); any other length is
 *   not a key and gives `false`, for the schema to reject.
 * @example
 * isLowOrderPublicKeyText('A'.repeat(43)); // true: the all-zero key
 */
function isLowOrderPublicKeyText(publicKey: string): boolean {
  const bytes = Buffer.from(publicKey, 'base64url');
  return bytes.length === PUBLIC_KEY_LENGTH && isLowOrderPublicKey(bytes);
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
    if (isLowOrderPublicKeyText(publicKey)) {
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
