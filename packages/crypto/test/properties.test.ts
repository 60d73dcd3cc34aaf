import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { hashShare } from '../src/hash.js';
import { importKeyPair, importPublicKey } from '../src/imported-keys.js';
import { open, seal } from '../src/seal.js';
import { combineShares, recoverSecretKey, splitSecret } from '../src/shares.js';
import { generateKeyPair, getPublicKey, setX25519Backend } from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { rejectionOf } from './rejection.js';

// Run counts keep the file at a few seconds: each seal/open run is two X25519 operations,
// and a 255-share split evaluates 255 polynomials per secret byte.
const SHARE_RUNS = 40;
const SEAL_RUNS = 40;

/** Applies X25519 clamping (RFC 7748, section 5) to a copy of a secret key. */
function clamp(secretKey: Uint8Array): Uint8Array {
  const scalar = Uint8Array.from(secretKey);
  scalar[0] = (scalar[0] as number) & 248;
  scalar[31] = ((scalar[31] as number) & 127) | 64;
  return scalar;
}

/** A threshold k, a share count n with 2 ≤ k ≤ n ≤ 255, and k distinct positions in random order. */
const splitParameters = fc
  .integer({ min: 2, max: 255 })
  .chain((shares) => fc.tuple(fc.constant(shares), fc.integer({ min: 2, max: shares })))
  .chain(([shares, threshold]) =>
    fc.tuple(
      fc.constant(shares),
      fc.constant(threshold),
      fc.shuffledSubarray(
        Array.from({ length: shares }, (_, index) => index),
        { minLength: threshold, maxLength: threshold },
      ),
      fc.uint8Array({ minLength: 1, maxLength: 33 }),
    ),
  );

/** A single-byte change: a position (taken modulo the length) and a non-zero XOR mask. */
const mutation = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }));

function mutate(bytes: Uint8Array, [position, mask]: [number, number]): Uint8Array {
  const copy = new Uint8Array(bytes);
  const index = position % copy.length;
  copy[index] = (copy[index] as number) ^ mask;
  return copy;
}

describe('shares properties', () => {
  it('any k-subset of k-of-n shares in any order rebuilds the secret', async () => {
    await fc.assert(
      fc.asyncProperty(splitParameters, async ([shares, threshold, positions, secret]) => {
        const all = await splitSecret(secret, { shares, threshold });
        const subset = positions.map((position) => all[position] as Uint8Array);

        expect(bytesToHex(await combineShares(subset))).toBe(bytesToHex(secret));
      }),
      { numRuns: SHARE_RUNS },
    );
  });

  it('any change to one share fails recoverSecretKey, never returning another key', async () => {
    const keyPair = await generateKeyPair();
    const shares = await splitSecret(keyPair.secretKey);

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), mutation, async (which, change) => {
        const changed = shares.map((share, index) =>
          index === which ? mutate(share, change) : share,
        );

        const outcome = await recoverSecretKey(changed, keyPair.publicKey).then(
          (key) => ({ key }),
          (error: unknown) => ({ error }),
        );
        if ('key' in outcome) {
          // X25519 clamping (RFC 7748, section 5) ignores bits 0-2 of byte 0 and bits 6-7
          // of byte 31, so a change that lands only there rebuilds the same scalar.
          expect(clamp(outcome.key)).toEqual(clamp(keyPair.secretKey));
          return;
        }

        // A changed value byte rebuilds another key; a changed index byte can also collide
        // with the other share's index or become 0.
        expect(outcome.error).toBeInstanceOf(CryptoError);
        expect(['ERR_KEY_MISMATCH', 'ERR_INVALID_SHARES']).toContain(
          (outcome.error as CryptoError).code,
        );
      }),
      { numRuns: SHARE_RUNS },
    );
  });

  it('only changes in the clamped bits rebuild a key', async () => {
    const keyPair = await generateKeyPair();
    const shares = await splitSecret(keyPair.secretKey);
    let rebuilt = 0;

    // XOR d into byte 0 of one share changes secret byte 0 by a fixed nonzero multiple of d
    // in GF(2^8). So as d runs over 1..255 the change takes every nonzero value once.
    // Exactly 7 of them (1..7) touch only the three low bits that clamping clears.
    for (let delta = 1; delta <= 255; delta += 1) {
      const changed = [mutate(shares[0] as Uint8Array, [0, delta]), shares[1] as Uint8Array];
      const outcome = await recoverSecretKey(changed, keyPair.publicKey).then(
        (key) => ({ key }),
        (error: unknown) => ({ error }),
      );

      if ('key' in outcome) {
        rebuilt += 1;
        expect(outcome.key).not.toEqual(keyPair.secretKey);
        expect(clamp(outcome.key)).toEqual(clamp(keyPair.secretKey));
      } else {
        expect((outcome.error as CryptoError).code).toBe('ERR_KEY_MISMATCH');
      }
    }

    expect(rebuilt).toBe(7);
  });

  it('any change to a share changes its hash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 33, maxLength: 33 }),
        mutation,
        async (share, change) => {
          const original = bytesToHex(await hashShare(share));

          expect(bytesToHex(await hashShare(mutate(share, change)))).not.toBe(original);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('sealed box properties', () => {
  it('open(seal(m)) is m for any plaintext', async () => {
    const recipient = await generateKeyPair();

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (plaintext) => {
        const sealed = await seal(plaintext, recipient.publicKey);

        expect(sealed).toHaveLength(plaintext.length + 48);
        expect(bytesToHex(await open(sealed, recipient.secretKey))).toBe(bytesToHex(plaintext));
      }),
      { numRuns: SEAL_RUNS },
    );
  });

  it('any change to a sealed box is rejected', async () => {
    const recipient = await generateKeyPair();

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), mutation, async (plaintext, change) => {
        const sealed = await seal(plaintext, recipient.publicKey);

        const error = await rejectionOf(open(mutate(sealed, change), recipient.secretKey));

        expect(error.code).toBe('ERR_OPEN_FAILED');
      }),
      { numRuns: SEAL_RUNS },
    );
  });

  it('a changed secret key fails, unless X25519 clamping ignores the change', async () => {
    const recipient = await generateKeyPair();
    const plaintext = new TextEncoder().encode('provision');
    const sealed = await seal(plaintext, recipient.publicKey);
    const publicKey = bytesToHex(recipient.publicKey);

    await fc.assert(
      fc.asyncProperty(mutation, async (change) => {
        const changedKey = mutate(recipient.secretKey, change);

        // Clamping clears bits 0-2 and 255 and sets bit 254, so a change there only gives
        // the same scalar, the same public key and the same plaintext.
        if (bytesToHex(await getPublicKey(changedKey)) === publicKey) {
          expect(bytesToHex(await open(sealed, changedKey))).toBe(bytesToHex(plaintext));
          return;
        }

        const error = await rejectionOf(open(sealed, changedKey));
        expect(error.code).toBe('ERR_OPEN_FAILED');
      }),
      { numRuns: SEAL_RUNS },
    );
  });

  it('a box sealed to a changed public key does not open', async () => {
    const recipient = await generateKeyPair();
    const plaintext = new TextEncoder().encode('provision');

    await fc.assert(
      fc.asyncProperty(mutation, async (change) => {
        const changedKey = mutate(recipient.publicKey, change);

        let sealed: Uint8Array;
        try {
          sealed = await seal(plaintext, changedKey);
        } catch (error) {
          // A change can land on a low-order point, which seal rejects.
          expect(error).toMatchObject({ code: 'ERR_LOW_ORDER_POINT' });
          return;
        }

        const error = await rejectionOf(open(sealed, recipient.secretKey));
        expect(error.code).toBe('ERR_OPEN_FAILED');
      }),
      // Bit 255 of a public key is ignored by X25519 but is part of the nonce input, so
      // even that change fails the tag check.
      { numRuns: SEAL_RUNS },
    );
  });
});

describe.each(BACKENDS)('sealed box properties with imported keys on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  afterAll(async () => {
    await setX25519Backend('auto');
  });

  it('open(seal(m)) is m for any plaintext', async () => {
    const keyPair = await generateKeyPair();
    const to = await importPublicKey(keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (plaintext) => {
        const sealed = await seal(plaintext, to);

        expect(sealed).toHaveLength(plaintext.length + 48);
        expect(bytesToHex(await open(sealed, recipient))).toBe(bytesToHex(plaintext));
      }),
      { numRuns: SEAL_RUNS },
    );
  });

  it('any change to a sealed box is rejected', async () => {
    const keyPair = await generateKeyPair();
    const to = await importPublicKey(keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), mutation, async (plaintext, change) => {
        const sealed = await seal(plaintext, to);

        const error = await rejectionOf(open(mutate(sealed, change), recipient));

        expect(error.code).toBe('ERR_OPEN_FAILED');
      }),
      { numRuns: SEAL_RUNS },
    );
  });
});
