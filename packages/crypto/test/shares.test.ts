import fc from 'fast-check';
import { combine, split } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';

import {
  combineShares,
  recoverSecretKey,
  SHARE_LENGTH,
  type SplitSecretOptions,
  splitSecret,
} from '../src/shares.js';
import { generateKeyPair } from '../src/x25519.js';
import { rejectionOf } from './rejection.js';

// GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b), computed bit by
// bit, independently of the lookup tables of shamir-secret-sharing.
function gfMultiply(a: number, b: number): number {
  let product = 0;
  let x = a;
  let y = b;
  while (y > 0) {
    if (y & 1) {
      product ^= x;
    }
    x = x & 0x80 ? ((x << 1) ^ 0x11b) & 0xff : x << 1;
    y >>= 1;
  }
  return product;
}

function gfInverse(a: number): number {
  for (let candidate = 1; candidate < 256; candidate++) {
    if (gfMultiply(a, candidate) === 1) {
      return candidate;
    }
  }
  throw new Error('0 has no inverse');
}

// Lagrange interpolation at x = 0 of shares laid out as y-bytes followed by the x-byte.
function interpolateAtZero(shares: Uint8Array[]): Uint8Array {
  const length = (shares[0] as Uint8Array).length - 1;
  const xs = shares.map((share) => share[length] as number);
  const secret = new Uint8Array(length);

  for (let byte = 0; byte < length; byte++) {
    let value = 0;
    for (const [i, share] of shares.entries()) {
      let basis = 1;
      for (const [j, xj] of xs.entries()) {
        if (i !== j) {
          // In characteristic 2, (0 - xj) / (xi - xj) is xj / (xi ^ xj).
          basis = gfMultiply(basis, gfMultiply(xj, gfInverse((xs[i] as number) ^ xj)));
        }
      }
      value ^= gfMultiply(share[byte] as number, basis);
    }
    secret[byte] = value;
  }

  return secret;
}

describe('splitSecret and combineShares', () => {
  it.each([
    [2, 2],
    [2, 3],
    [3, 5],
    [5, 5],
  ])('threshold %i of %i rebuilds a 32-byte secret', async (threshold, count) => {
    const { secretKey } = await generateKeyPair();

    const shares = await splitSecret(secretKey, { shares: count, threshold });

    expect(shares).toHaveLength(count);
    for (const share of shares) {
      expect(share).toHaveLength(SHARE_LENGTH);
    }
    expect(await combineShares(shares.slice(0, threshold))).toEqual(secretKey);
    expect(await combineShares(shares.slice(count - threshold).reverse())).toEqual(secretKey);
    expect(await combineShares(shares)).toEqual(secretKey);
  });

  it('threshold 255 of 255 rebuilds a 32-byte secret', async () => {
    const { secretKey } = await generateKeyPair();

    const shares = await splitSecret(secretKey, { shares: 255, threshold: 255 });

    expect(shares).toHaveLength(255);
    expect(new Set(shares.map((share) => share[32])).size).toBe(255);
    expect(await combineShares(shares.reverse())).toEqual(secretKey);
  });

  it('defaults to two 33-byte shares with distinct non-zero indexes', async () => {
    const { secretKey } = await generateKeyPair();

    const shares = await splitSecret(secretKey);

    expect(shares).toHaveLength(2);
    const [first, second] = shares as [Uint8Array, Uint8Array];
    expect(first).toHaveLength(33);
    expect(second).toHaveLength(33);
    expect(first[32]).not.toBe(0);
    expect(second[32]).not.toBe(0);
    expect(first[32]).not.toBe(second[32]);
  });

  it('makes shares that an independent GF(2^8) interpolation combines', async () => {
    const { secretKey } = await generateKeyPair();

    const shares = await splitSecret(secretKey, { shares: 4, threshold: 3 });

    expect(interpolateAtZero(shares.slice(1))).toEqual(secretKey);
    expect(interpolateAtZero([shares[3], shares[0], shares[2]] as Uint8Array[])).toEqual(secretKey);
  });

  it('rebuilds from any threshold-sized subset in any order', async () => {
    const params = fc
      .integer({ min: 2, max: 12 })
      .chain((count) => fc.tuple(fc.constant(count), fc.integer({ min: 2, max: count })))
      .chain(([count, threshold]) =>
        fc.record({
          count: fc.constant(count),
          threshold: fc.constant(threshold),
          secret: fc.uint8Array({ minLength: 1, maxLength: 64 }),
          order: fc.shuffledSubarray(
            Array.from({ length: count }, (_, i) => i),
            { minLength: threshold, maxLength: count },
          ),
        }),
      );

    await fc.assert(
      fc.asyncProperty(params, async ({ count, threshold, secret, order }) => {
        const shares = await splitSecret(secret, { shares: count, threshold });
        const subset = order.map((i) => shares[i] as Uint8Array);

        expect(await combineShares(subset)).toEqual(new Uint8Array(secret));
      }),
      { numRuns: 100 },
    );
  });

  it('gives a different secret from fewer shares than the threshold', async () => {
    const { secretKey } = await generateKeyPair();
    const shares = await splitSecret(secretKey, { shares: 5, threshold: 3 });

    const rebuilt = await combineShares(shares.slice(0, 2));

    expect(rebuilt).toHaveLength(32);
    expect(rebuilt).not.toEqual(secretKey);
  });
});

describe('interoperability with shamir-secret-sharing 0.0.4', () => {
  it.each([
    [2, 2],
    [3, 5],
    [10, 255],
  ])('its combine rebuilds our %i-of-%i shares', async (threshold, shares) => {
    const secret = crypto.getRandomValues(new Uint8Array(32));

    const ours = await splitSecret(secret, { shares, threshold });

    expect(await combine(ours.slice(shares - threshold))).toEqual(secret);
  });

  it.each([
    [2, 2],
    [3, 5],
    [10, 255],
  ])('our combineShares rebuilds its %i-of-%i shares', async (threshold, shares) => {
    const secret = crypto.getRandomValues(new Uint8Array(32));

    const theirs = await split(secret, shares, threshold);

    expect(await combineShares(theirs.slice(0, threshold).reverse())).toEqual(secret);
  });
});

describe('recoverSecretKey', () => {
  it('returns the secret key for matching shares', async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const shares = await splitSecret(secretKey, { shares: 5, threshold: 3 });

    const recovered = await recoverSecretKey(
      [shares[4], shares[1], shares[2]] as Uint8Array[],
      publicKey,
    );

    expect(recovered).toEqual(secretKey);
  });

  it('throws ERR_KEY_MISMATCH for fewer shares than the threshold', async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const shares = await splitSecret(secretKey, { shares: 3, threshold: 3 });

    const error = await rejectionOf(recoverSecretKey(shares.slice(0, 2), publicKey));

    expect(error.code).toBe('ERR_KEY_MISMATCH');
    expect(error.message).toBe(
      'shares: the rebuilt secret key does not match expectedPublicKey; a share is wrong or modified, or fewer shares than the threshold were given',
    );
  });

  it('throws ERR_KEY_MISMATCH for a modified share', async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const [first, second] = (await splitSecret(secretKey)) as [Uint8Array, Uint8Array];
    // Byte 1 of a share rebuilds byte 1 of the key, which X25519 uses whole. A change to
    // byte 0 can land in the three bits that clamping clears, and then goes unnoticed.
    const modified = new Uint8Array(first);
    modified[1] = (modified[1] as number) ^ 1;

    const error = await rejectionOf(recoverSecretKey([modified, second], publicKey));

    expect(error.code).toBe('ERR_KEY_MISMATCH');
  });

  it('throws ERR_KEY_MISMATCH for another key pair', async () => {
    const { secretKey } = await generateKeyPair();
    const other = await generateKeyPair();
    const shares = await splitSecret(secretKey);

    const error = await rejectionOf(recoverSecretKey(shares, other.publicKey));

    expect(error.code).toBe('ERR_KEY_MISMATCH');
  });

  it('rejects a 32-byte share', async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const [first, second] = (await splitSecret(secretKey)) as [Uint8Array, Uint8Array];

    const error = await rejectionOf(recoverSecretKey([first, second.subarray(0, 32)], publicKey));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('shares[1]: expected 33 bytes, received 32');
  });

  it('rejects a 31-byte expected public key', async () => {
    const { secretKey } = await generateKeyPair();
    const shares = await splitSecret(secretKey);

    const error = await rejectionOf(recoverSecretKey(shares, new Uint8Array(31)));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('expectedPublicKey: expected 32 bytes, received 31');
  });
});

describe('combineShares input checks', () => {
  it('rejects a duplicate share index', async () => {
    const { secretKey } = await generateKeyPair();
    const [first, second, third] = (await splitSecret(secretKey, {
      shares: 3,
      threshold: 2,
    })) as [Uint8Array, Uint8Array, Uint8Array];
    const sameIndex = new Uint8Array(third);
    sameIndex[32] = first[32] as number;

    const error = await rejectionOf(combineShares([first, second, sameIndex]));

    expect(error.code).toBe('ERR_INVALID_SHARES');
    expect(error.message).toBe('shares[2]: duplicate share index, shares[0] has the same index');
  });

  it('rejects the same share given twice', async () => {
    const { secretKey } = await generateKeyPair();
    const [first] = (await splitSecret(secretKey)) as [Uint8Array, Uint8Array];

    const error = await rejectionOf(combineShares([first, first]));

    expect(error.code).toBe('ERR_INVALID_SHARES');
    expect(error.message).toBe('shares[1]: duplicate share index, shares[0] has the same index');
  });

  it('rejects share index 0', async () => {
    const share = new Uint8Array(33);
    share[32] = 7;

    const error = await rejectionOf(combineShares([share, new Uint8Array(33)]));

    expect(error.code).toBe('ERR_INVALID_SHARES');
    expect(error.message).toBe('shares[1]: invalid share index 0');
  });

  it('rejects shares of different lengths', async () => {
    const { secretKey } = await generateKeyPair();
    const [first, second] = (await splitSecret(secretKey)) as [Uint8Array, Uint8Array];
    const longer = new Uint8Array(34);
    longer.set(second);

    const error = await rejectionOf(combineShares([first, longer]));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('shares[1]: expected 33 bytes, received 34');
  });

  it('rejects a 1-byte share', async () => {
    const error = await rejectionOf(combineShares([new Uint8Array(1), new Uint8Array(1)]));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('shares[0]: expected at least 2 bytes, received 1');
  });

  it.each([0, 1])('rejects %i shares', async (count) => {
    const shares = Array.from({ length: count }, () => new Uint8Array(33));

    const error = await rejectionOf(combineShares(shares));

    expect(error.code).toBe('ERR_INVALID_SHARES');
    expect(error.message).toBe(`shares: expected from 2 to 255 shares, received ${count}`);
  });

  it('rejects 256 shares', async () => {
    const shares = Array.from({ length: 256 }, () => new Uint8Array(33));

    const error = await rejectionOf(combineShares(shares));

    expect(error.code).toBe('ERR_INVALID_SHARES');
  });

  it('rejects a non-array', async () => {
    const error = await rejectionOf(combineShares(new Uint8Array(66) as unknown as Uint8Array[]));

    expect(error.code).toBe('ERR_INVALID_TYPE');
    expect(error.message).toBe('shares: expected an array of Uint8Array');
  });

  it('rejects a share that is not a Uint8Array', async () => {
    const share = new Uint8Array(33);
    share[32] = 1;

    const error = await rejectionOf(combineShares([share, [1, 2, 3]] as unknown as Uint8Array[]));

    expect(error.code).toBe('ERR_INVALID_TYPE');
    expect(error.message).toBe('shares[1]: expected a Uint8Array, received an array');
  });
});

describe('splitSecret input checks', () => {
  it.each([
    [
      { shares: 2, threshold: 1 },
      'options.threshold: expected an integer from 2 to options.shares (2), received 1',
    ],
    [
      { shares: 3, threshold: 4 },
      'options.threshold: expected an integer from 2 to options.shares (3), received 4',
    ],
    [
      { shares: 256, threshold: 2 },
      'options.shares: expected an integer from 2 to 255, received 256',
    ],
    [{ shares: 1 }, 'options.shares: expected an integer from 2 to 255, received 1'],
    [{ shares: 2.5 }, 'options.shares: expected an integer from 2 to 255, received 2.5'],
    [
      { shares: '3' } as unknown as SplitSecretOptions,
      'options.shares: expected an integer from 2 to 255, received a string',
    ],
    [
      { threshold: true } as unknown as SplitSecretOptions,
      'options.threshold: expected an integer from 2 to options.shares (2, the default), received a boolean',
    ],
    [
      { threshold: 3 },
      'options.threshold: expected an integer from 2 to options.shares (2, the default), received 3',
    ],
    [
      { shares: undefined, threshold: 3 },
      'options.threshold: expected an integer from 2 to options.shares (2, the default), received 3',
    ],
    [
      { share: 3, threshold: 3 } as unknown as SplitSecretOptions,
      'options: unknown option "share"; splitSecret accepts shares and threshold',
    ],
    [
      { share: 3, treshold: 3 } as unknown as SplitSecretOptions,
      'options: unknown options "share", "treshold"; splitSecret accepts shares and threshold',
    ],
    [
      { shares: 3, threshold: 2, extra: undefined } as unknown as SplitSecretOptions,
      'options: unknown option "extra"; splitSecret accepts shares and threshold',
    ],
  ])('rejects options %o', async (options, message) => {
    const error = await rejectionOf(splitSecret(new Uint8Array(32), options));

    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe(message);
  });

  it('rejects an empty secret', async () => {
    const error = await rejectionOf(splitSecret(new Uint8Array(0)));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('secret: expected at least 1 byte, received 0');
  });
});
