import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { CryptoError } from '../src/errors.js';
import {
  generateKeyPair,
  getPublicKey,
  getX25519Backend,
  isLowOrderPublicKey,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
  setX25519Backend,
  x25519SharedSecret,
} from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { RUNS_IN_NODE } from './environment.js';
import { LOW_ORDER_POINTS, LOW_ORDER_POINTS_HIGH_BIT } from './vectors/low-order-points.js';
import { DIFFIE_HELLMAN_VECTOR, ITERATED_VECTORS, SCALAR_MULT_VECTORS } from './vectors/rfc7748.js';

async function scalarMult(scalar: Uint8Array, u: Uint8Array): Promise<Uint8Array> {
  return x25519SharedSecret(new Uint8Array(scalar), new Uint8Array(u), 'u');
}

beforeAll(async () => {
  await sodium.ready;
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe('backend selection', () => {
  it('picks WebCrypto on Node.js 20', async () => {
    await setX25519Backend('auto');

    expect(await getX25519Backend()).toBe('webcrypto');
  });

  it('forces each backend', async () => {
    expect(await setX25519Backend('noble')).toBe('noble');
    expect(await getX25519Backend()).toBe('noble');

    expect(await setX25519Backend('webcrypto')).toBe('webcrypto');
    expect(await getX25519Backend()).toBe('webcrypto');
  });

  it('rejects an unknown backend name', async () => {
    const attempt = setX25519Backend('openssl' as never);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message:
        "backend: expected 'webcrypto', 'noble', 'auto' or an X25519Provider object, received 'openssl'",
    });
  });
});

describe.each(BACKENDS)('X25519 on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(SCALAR_MULT_VECTORS)('RFC 7748 §5.2 vector $output', async (vector) => {
    const output = await scalarMult(hexToBytes(vector.scalar), hexToBytes(vector.u));

    expect(bytesToHex(output)).toBe(vector.output);
  });

  it.each(ITERATED_VECTORS)('RFC 7748 §5.2 after $iterations iterations', async (vector) => {
    let k: Uint8Array = hexToBytes(
      '0900000000000000000000000000000000000000000000000000000000000000',
    );
    let u = k;

    for (let i = 0; i < vector.iterations; i++) {
      const next = await scalarMult(k, u);
      u = k;
      k = next;
    }

    expect(bytesToHex(k)).toBe(vector.output);
  });

  it('RFC 7748 §6.1 Alice and Bob', async () => {
    const vector = DIFFIE_HELLMAN_VECTOR;
    const aliceSecretKey = hexToBytes(vector.aliceSecretKey);
    const bobSecretKey = hexToBytes(vector.bobSecretKey);

    expect(bytesToHex(await getPublicKey(aliceSecretKey))).toBe(vector.alicePublicKey);
    expect(bytesToHex(await getPublicKey(bobSecretKey))).toBe(vector.bobPublicKey);

    const aliceShared = await scalarMult(aliceSecretKey, hexToBytes(vector.bobPublicKey));
    const bobShared = await scalarMult(bobSecretKey, hexToBytes(vector.alicePublicKey));
    expect(bytesToHex(aliceShared)).toBe(vector.sharedSecret);
    expect(bytesToHex(bobShared)).toBe(vector.sharedSecret);
  });

  it('generateKeyPair matches libsodium crypto_scalarmult_base', async () => {
    const { secretKey, publicKey } = await generateKeyPair();

    expect(secretKey).toHaveLength(SECRET_KEY_LENGTH);
    expect(publicKey).toHaveLength(PUBLIC_KEY_LENGTH);
    expect(bytesToHex(publicKey)).toBe(bytesToHex(sodium.crypto_scalarmult_base(secretKey)));
  });

  it('generateKeyPair returns fresh random keys', async () => {
    const first = await generateKeyPair();
    const second = await generateKeyPair();

    expect(bytesToHex(first.secretKey)).not.toBe(bytesToHex(second.secretKey));
  });

  it.each([...LOW_ORDER_POINTS, ...LOW_ORDER_POINTS_HIGH_BIT])(
    'rejects low-order point %s',
    async (hex) => {
      const point = hexToBytes(hex);
      const { secretKey } = await generateKeyPair();

      // Independent check that the listed value is low-order.
      expect(() => sodium.crypto_scalarmult(secretKey, point)).toThrow();

      const attempt = x25519SharedSecret(new Uint8Array(secretKey), point, 'peerPublicKey');
      await expect(attempt).rejects.toBeInstanceOf(CryptoError);
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_LOW_ORDER_POINT',
        message: 'peerPublicKey: low-order point, the X25519 shared secret would be all zeros',
      });
    },
  );
});

describe('every backend gives the same bytes', () => {
  it('on public keys and shared secrets of random inputs', async () => {
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

    await fc.assert(
      fc.asyncProperty(key, key, async (secretKey, peerSecretKey) => {
        const results: string[][] = [];

        for (const backend of BACKENDS) {
          await useBackend(backend);
          const publicKey = await getPublicKey(secretKey);
          const peerPublicKey = await getPublicKey(peerSecretKey);
          const shared = await scalarMult(secretKey, peerPublicKey);
          results.push([bytesToHex(publicKey), bytesToHex(shared)]);
        }

        const expected = [
          bytesToHex(sodium.crypto_scalarmult_base(secretKey)),
          bytesToHex(
            sodium.crypto_scalarmult(secretKey, sodium.crypto_scalarmult_base(peerSecretKey)),
          ),
        ];
        expect(results).toEqual(BACKENDS.map(() => expected));
      }),
      { numRuns: 30 },
    );
  });

  it('on arbitrary u-coordinates, including bit 255 set', async () => {
    const bytes = fc.uint8Array({ minLength: 32, maxLength: 32 });

    await fc.assert(
      fc.asyncProperty(bytes, bytes, async (secretKey, u) => {
        const outputs: string[] = [];

        for (const backend of BACKENDS) {
          await useBackend(backend);
          outputs.push(bytesToHex(await scalarMult(secretKey, u)));
        }

        const expected = bytesToHex(sodium.crypto_scalarmult(secretKey, u));
        expect(outputs).toEqual(BACKENDS.map(() => expected));
      }),
      { numRuns: 30 },
    );
  });
});

describe('platform without WebCrypto X25519', () => {
  const platformCrypto = globalThis.crypto;
  const getRandomValues = platformCrypto.getRandomValues.bind(platformCrypto);
  const aliceSecretKey = hexToBytes(DIFFIE_HELLMAN_VECTOR.aliceSecretKey);

  afterEach(async () => {
    vi.unstubAllGlobals();
    vi.resetModules();
    await setX25519Backend('auto');
  });

  // The two fallback tests re-import the module with vi.resetModules, which works in Node.js
  // only: a browser keeps each evaluated module.
  const RESET_SKIP_REASON = 'vi.resetModules cannot re-evaluate a module in the browser';

  it('falls back to noble when crypto.subtle is missing', async (context) => {
    context.skip(!RUNS_IN_NODE, RESET_SKIP_REASON);
    vi.stubGlobal('crypto', { getRandomValues });
    vi.resetModules();
    const fresh = await import('../src/x25519.js');

    expect(await fresh.getX25519Backend()).toBe('noble');
    expect(bytesToHex(await fresh.getPublicKey(aliceSecretKey))).toBe(
      DIFFIE_HELLMAN_VECTOR.alicePublicKey,
    );
    await expect(fresh.setX25519Backend('webcrypto')).rejects.toMatchObject({
      code: 'ERR_WEBCRYPTO_FAILED',
    });
  });

  it('falls back to noble when WebCrypto rejects X25519', async (context) => {
    context.skip(!RUNS_IN_NODE, RESET_SKIP_REASON);
    const notSupported = () => Promise.reject(new DOMException('X25519', 'NotSupportedError'));
    vi.stubGlobal('crypto', {
      getRandomValues,
      subtle: { importKey: notSupported, deriveBits: notSupported },
    });
    vi.resetModules();
    const fresh = await import('../src/x25519.js');

    expect(await fresh.getX25519Backend()).toBe('noble');
    expect(bytesToHex(await fresh.getPublicKey(aliceSecretKey))).toBe(
      DIFFIE_HELLMAN_VECTOR.alicePublicKey,
    );
  });

  it('forced noble makes no WebCrypto call', async () => {
    await setX25519Backend('noble');
    const failing = () => Promise.reject(new Error('WebCrypto must not be called'));
    vi.stubGlobal('crypto', {
      getRandomValues,
      subtle: { importKey: failing, deriveBits: failing },
    });

    expect(bytesToHex(await getPublicKey(aliceSecretKey))).toBe(
      DIFFIE_HELLMAN_VECTOR.alicePublicKey,
    );
  });

  it('forced WebCrypto reports a platform failure', async () => {
    await setX25519Backend('webcrypto');
    const failing = () => Promise.reject(new Error('platform failure'));
    vi.stubGlobal('crypto', {
      getRandomValues,
      subtle: { importKey: failing, deriveBits: failing, generateKey: failing },
    });
    const bobPublicKey = hexToBytes(DIFFIE_HELLMAN_VECTOR.bobPublicKey);

    for (const attempt of [scalarMult(aliceSecretKey, bobPublicKey), generateKeyPair()]) {
      await expect(attempt).rejects.toBeInstanceOf(CryptoError);
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_WEBCRYPTO_FAILED',
        message: 'X25519: the WebCrypto operation failed',
      });
    }
  });
});

describe('getPublicKey input checks', () => {
  it('rejects a 31-byte secret key', async () => {
    const attempt = getPublicKey(new Uint8Array(31));

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'secretKey: expected 32 bytes, received 31',
    });
  });

  it('rejects a string secret key', async () => {
    const attempt = getPublicKey('secret' as unknown as Uint8Array);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'secretKey: expected a Uint8Array, received a string',
    });
  });
});

describe('isLowOrderPublicKey', () => {
  /** Returns whether libsodium's `crypto_scalarmult` rejects `publicKey`, as it does for low order. */
  function sodiumRejects(publicKey: Uint8Array): boolean {
    try {
      sodium.crypto_scalarmult(sodium.randombytes_buf(SECRET_KEY_LENGTH), publicKey);
      return false;
    } catch {
      return true;
    }
  }

  it.each([...LOW_ORDER_POINTS, ...LOW_ORDER_POINTS_HIGH_BIT])('finds %s', (hex) => {
    const publicKey = hexToBytes(hex);

    expect(isLowOrderPublicKey(publicKey)).toBe(true);
    expect(sodiumRejects(publicKey)).toBe(true);
    expect(bytesToHex(publicKey)).toBe(hex);
  });

  it.each(LOW_ORDER_POINTS)('passes %s with one byte changed', (hex) => {
    const publicKey = hexToBytes(hex);
    publicKey[16] = (publicKey[16] as number) ^ 0x01;

    expect(isLowOrderPublicKey(publicKey)).toBe(false);
    expect(sodiumRejects(publicKey)).toBe(false);
  });

  it('agrees with libsodium on random keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (publicKey) => {
        expect(isLowOrderPublicKey(publicKey)).toBe(sodiumRejects(publicKey));
      }),
    );
  });

  it('reads a view at an odd offset', () => {
    const buffer = new Uint8Array(1 + PUBLIC_KEY_LENGTH);
    buffer.set(hexToBytes(LOW_ORDER_POINTS[2]), 1);

    expect(isLowOrderPublicKey(buffer.subarray(1))).toBe(true);
  });

  it('rejects a 31-byte key', () => {
    expect(() => isLowOrderPublicKey(new Uint8Array(31))).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_LENGTH',
        message: 'publicKey: expected 32 bytes, received 31',
      }),
    );
  });

  it('rejects a string key', () => {
    expect(() => isLowOrderPublicKey('A'.repeat(43) as unknown as Uint8Array)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_TYPE',
        message: 'publicKey: expected a Uint8Array, received a string',
      }),
    );
  });
});
