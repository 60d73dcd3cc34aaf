import { describe, expect, it } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { decryptWithPassphrase, encryptWithPassphrase } from '../src/passphrase.js';
import { SCRYPT_MIN_N } from '../src/passphrase-envelope.js';

// Header fields that are invalid on their own after flipping their lowest bit: the magic
// (0-3), version (4), KDF id (5), r = 8 -> 9 (7) and p = 1 -> 0 (8). Flipping log2 N
// (6) gives 14 -> 15, a valid cost, so that flip is caught by the tag like every byte from
// the salt on.
const STRUCTURALLY_INVALID_OFFSETS = new Set([0, 1, 2, 3, 4, 5, 7, 8]);

describe('passphrase envelope tampering', () => {
  it('rejects a flipped bit in every byte', async () => {
    const envelope = await encryptWithPassphrase(Uint8Array.of(42), 'correct horse', {
      scryptN: SCRYPT_MIN_N,
    });
    expect(envelope).toHaveLength(66);

    for (let offset = 0; offset < envelope.length; offset++) {
      const tampered = new Uint8Array(envelope);
      tampered[offset] = (tampered[offset] as number) ^ 1;

      let caught: unknown;
      try {
        await decryptWithPassphrase(tampered, 'correct horse');
      } catch (error) {
        caught = error;
      }

      const expectedCode = STRUCTURALLY_INVALID_OFFSETS.has(offset)
        ? 'ERR_INVALID_ENVELOPE'
        : 'ERR_WRONG_PASSPHRASE';
      expect(caught, `byte ${offset}`).toBeInstanceOf(CryptoError);
      expect((caught as CryptoError).code, `byte ${offset}`).toBe(expectedCode);
    }
  });
});
