import { sha512 } from '@noble/hashes/sha2.js';

import { copyBytes, wipe } from './bytes.js';

/** Length in bytes of a share hash, SHA-512 (86 base64url characters). */
export const SHARE_HASH_LENGTH = 64;

/**
 * Hashes a key share with SHA-512 over its raw bytes. The hash identifies a share to the
 * server (`user_key_share_hash`) without revealing it.
 *
 * @param share - the share bytes, normally `SHARE_LENGTH` (33) bytes, though any length is
 *   hashed. Not modified.
 * @returns the 64-byte digest.
 * @throws CryptoError `ERR_INVALID_TYPE` if `share` is not a Uint8Array.
 * @example
 * ```ts
 * import { encodeBase64Url, hashShare } from '@provisions/crypto';
 *
 * const userKeyShareHash = encodeBase64Url(await hashShare(userKeyShare)); // 86 characters
 * ```
 */
export async function hashShare(share: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const copy = copyBytes(share, 'share');

  try {
    return new Uint8Array(sha512(copy));
  } finally {
    wipe(copy);
  }
}
