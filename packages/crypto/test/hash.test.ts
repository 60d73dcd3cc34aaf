import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { hashShare, SHARE_HASH_LENGTH } from '../src/hash.js';

// FIPS 180-2, Appendix C.1: SHA-512 of the one-block message "abc".
const SHA512_ABC =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
  '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

beforeAll(async () => {
  await sodium.ready;
});

describe('hashShare', () => {
  it('matches the FIPS 180-2 SHA-512 "abc" vector', async () => {
    const digest = await hashShare(new TextEncoder().encode('abc'));

    expect(digest).toHaveLength(SHARE_HASH_LENGTH);
    expect(bytesToHex(digest)).toBe(SHA512_ABC);
  });

  it('matches libsodium crypto_hash, which is SHA-512', async () => {
    // The default libsodium-wrappers build has no crypto_hash_sha512; its crypto_hash is
    // SHA-512 with a 64-byte output.
    expect(sodium.crypto_hash_BYTES).toBe(64);

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 33, maxLength: 33 }), async (share) => {
        expect(bytesToHex(await hashShare(share))).toBe(bytesToHex(sodium.crypto_hash(share)));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects a non-Uint8Array share', async () => {
    const attempt = hashShare('share' as unknown as Uint8Array);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'share: expected a Uint8Array, received a string',
    });
  });
});
