import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { importKeyPair, importPublicKey } from '../src/imported-keys.js';
import { createProvision } from '../src/provision.js';
import { open, seal } from '../src/seal.js';
import {
  generateKeyPair,
  getPublicKey,
  getX25519Backend,
  setX25519Backend,
  type X25519Provider,
} from '../src/x25519.js';
import { countingProvider, LIBSODIUM_PROVIDER } from './backends.js';
import { LOW_ORDER_POINTS } from './vectors/low-order-points.js';
import { DIFFIE_HELLMAN_VECTOR } from './vectors/rfc7748.js';

/** Returns a provider whose functions both throw `cause`. */
function throwingProvider(cause: Error): X25519Provider {
  return {
    getPublicKey: () => {
      throw cause;
    },
    getSharedSecret: () => {
      throw cause;
    },
  };
}

/**
 * Returns a provider that computes X25519 with libsodium, and calls `later` instead once
 * `turn()` was called, so it passes the installation checks and fails afterwards.
 */
function providerThatTurns(later: X25519Provider): X25519Provider & { turn(): void } {
  let turned = false;
  return {
    turn: () => {
      turned = true;
    },
    getPublicKey: (secretKey) => (turned ? later : LIBSODIUM_PROVIDER).getPublicKey(secretKey),
    getSharedSecret: (secretKey, publicKey) =>
      (turned ? later : LIBSODIUM_PROVIDER).getSharedSecret(secretKey, publicKey),
  };
}

/** Installs a provider made by {@link providerThatTurns}, then makes it fail as `later`. */
async function installThenFail(later: X25519Provider): Promise<void> {
  const provider = providerThatTurns(later);
  await setX25519Backend(provider);
  provider.turn();
}

beforeAll(async () => {
  await sodium.ready;
});

beforeEach(async () => {
  await setX25519Backend('auto');
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe('installing an X25519 provider', () => {
  it('routes every operation to it', async () => {
    const provider = countingProvider();

    expect(await setX25519Backend(provider)).toBe('custom');
    expect(await getX25519Backend()).toBe('custom');
    provider.calls.publicKey = 0;
    provider.calls.shared = 0;

    const recipient = await generateKeyPair();
    const sealed = await seal(new Uint8Array([1, 2, 3]), recipient.publicKey);
    const opened = await open(sealed, recipient.secretKey);
    await createProvision();

    expect(Array.from(opened)).toEqual([1, 2, 3]);
    // generateKeyPair, the ephemeral key of seal, open without a public key, and the
    // provision key pair: four public keys; seal and open: two shared secrets.
    expect(provider.calls).toEqual({ publicKey: 4, shared: 2 });
  });

  it('accepts a provider that returns promises', async () => {
    const asynchronous: X25519Provider = {
      getPublicKey: async (secretKey) => LIBSODIUM_PROVIDER.getPublicKey(secretKey),
      getSharedSecret: async (secretKey, publicKey) =>
        LIBSODIUM_PROVIDER.getSharedSecret(secretKey, publicKey),
    };

    await setX25519Backend(asynchronous);
    const secretKey = hexToBytes(DIFFIE_HELLMAN_VECTOR.aliceSecretKey);

    expect(bytesToHex(await getPublicKey(secretKey))).toBe(DIFFIE_HELLMAN_VECTOR.alicePublicKey);
  });

  it('keeps inputs that the provider overwrites', async () => {
    const scribbling: X25519Provider = {
      getPublicKey: (secretKey) => {
        const publicKey = LIBSODIUM_PROVIDER.getPublicKey(secretKey) as Uint8Array;
        secretKey.fill(0xff);
        return publicKey;
      },
      getSharedSecret: (secretKey, publicKey) => {
        const shared = LIBSODIUM_PROVIDER.getSharedSecret(secretKey, publicKey) as Uint8Array;
        secretKey.fill(0xff);
        publicKey.fill(0xff);
        return shared;
      },
    };
    await setX25519Backend(scribbling);
    const recipient = await generateKeyPair();
    const secretKeyBefore = bytesToHex(recipient.secretKey);
    const publicKeyBefore = bytesToHex(recipient.publicKey);

    const sealed = await seal(new Uint8Array([7]), recipient.publicKey);
    const opened = await open(sealed, recipient.secretKey, recipient.publicKey);

    expect(Array.from(opened)).toEqual([7]);
    expect(bytesToHex(recipient.secretKey)).toBe(secretKeyBefore);
    expect(bytesToHex(recipient.publicKey)).toBe(publicKeyBefore);
  });

  it('withholds low-order public keys', async () => {
    const provider = countingProvider();
    await setX25519Backend(provider);
    provider.calls.shared = 0;

    for (const point of LOW_ORDER_POINTS) {
      await expect(seal(new Uint8Array(1), hexToBytes(point))).rejects.toMatchObject({
        code: 'ERR_LOW_ORDER_POINT',
      });
    }

    expect(provider.calls.shared).toBe(0);
  });

  it('rejects wrong bytes, keeps previous backend', async () => {
    const wrong: X25519Provider = {
      getPublicKey: (secretKey) => {
        const publicKey = nobleX25519.getPublicKey(secretKey);
        publicKey[0] = (publicKey[0] as number) ^ 1;
        return publicKey;
      },
      getSharedSecret: (secretKey, publicKey) => nobleX25519.getSharedSecret(secretKey, publicKey),
    };
    await setX25519Backend('noble');

    const attempt = setX25519Backend(wrong);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message:
        'backend: the X25519 provider computed a wrong result for the RFC 7748 §6.1 public key',
    });
    expect(await getX25519Backend()).toBe('noble');
  });

  it('rejects one that keeps bit 255', async () => {
    // Wrong whenever u has bit 255 set, as an implementation that does not clear it is.
    const unmasked: X25519Provider = {
      getPublicKey: (secretKey) => nobleX25519.getPublicKey(secretKey),
      getSharedSecret: (secretKey, publicKey) => {
        const u = new Uint8Array(publicKey);
        u[31] = (u[31] as number) | 0x80;
        return publicKey[31] === u[31]
          ? nobleX25519.getSharedSecret(secretKey, publicKey).map((byte) => byte ^ 0xff)
          : nobleX25519.getSharedSecret(secretKey, publicKey);
      },
    };

    await expect(setX25519Backend(unmasked)).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message:
        'backend: the X25519 provider computed a wrong result for the RFC 7748 §5.2 vector whose u has bit 255 set',
    });
  });

  it('rejects one right only on vectors', async () => {
    const vectorsOnly: X25519Provider = {
      getPublicKey: (secretKey) =>
        bytesToHex(secretKey) === DIFFIE_HELLMAN_VECTOR.aliceSecretKey
          ? nobleX25519.getPublicKey(secretKey)
          : new Uint8Array(32).fill(9),
      getSharedSecret: (secretKey, publicKey) => nobleX25519.getSharedSecret(secretKey, publicKey),
    };

    await expect(setX25519Backend(vectorsOnly)).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message:
        'backend: the X25519 provider computed a wrong result for the public key of a random secret key',
    });
  });

  it('applies calls in call order', async () => {
    const slow: X25519Provider = {
      getPublicKey: async (secretKey) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return LIBSODIUM_PROVIDER.getPublicKey(secretKey);
      },
      getSharedSecret: (secretKey, publicKey) =>
        LIBSODIUM_PROVIDER.getSharedSecret(secretKey, publicKey),
    };

    const first = setX25519Backend(slow);
    const second = setX25519Backend('noble');

    expect(await first).toBe('custom');
    expect(await second).toBe('noble');
    expect(await getX25519Backend()).toBe('noble');
  });

  it('times out a silent provider', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const silent: X25519Provider = {
        getPublicKey: () => new Promise<Uint8Array>(() => {}),
        getSharedSecret: () => new Promise<Uint8Array>(() => {}),
      };

      const attempt = setX25519Backend(silent);
      const next = setX25519Backend('noble');
      const rejection = expect(attempt).rejects.toMatchObject({
        code: 'ERR_X25519_FAILED',
        message:
          'backend: the X25519 provider timed out after 10 s on the RFC 7748 §6.1 public key',
      });
      await vi.advanceTimersByTimeAsync(9_999);
      expect(
        await Promise.race([
          attempt.then(
            () => 'settled',
            () => 'settled',
          ),
          'pending',
        ]),
      ).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);

      await rejection;
      expect(await next).toBe('noble');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a throwing provider with cause', async () => {
    const cause = new Error('no X25519 here');
    const throwing = throwingProvider(cause);

    const attempt = setX25519Backend(throwing);

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message:
        'backend: the X25519 provider failed on the RFC 7748 §6.1 public key: X25519: the provider failed',
      cause,
    });
    expect(await getX25519Backend()).toBe('webcrypto');
  });

  it.each([
    [
      'the name custom',
      'custom',
      "backend: expected 'webcrypto', 'noble', 'auto' or an X25519Provider object, received 'custom'",
    ],
    [
      'an object without getSharedSecret',
      { getPublicKey: () => new Uint8Array(32) },
      'backend: an X25519Provider needs the functions getPublicKey and getSharedSecret, and this object lacks getSharedSecret',
    ],
    [
      'null',
      null,
      "backend: expected 'webcrypto', 'noble', 'auto' or an X25519Provider object, received null",
    ],
  ])('rejects %s as a backend', async (_label, value, message) => {
    const attempt = setX25519Backend(value as never);

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', message });
    expect(await getX25519Backend()).toBe('webcrypto');
  });

  it('returns to auto', async () => {
    await setX25519Backend(countingProvider());

    expect(await setX25519Backend('auto')).toBe('webcrypto');
  });
});

describe('a provider that fails after installation', () => {
  it('reports a wrong result length', async () => {
    const short: X25519Provider = {
      getPublicKey: () => new Uint8Array(31),
      getSharedSecret: () => new Uint8Array(31),
    };
    await installThenFail(short);
    const recipient = hexToBytes(DIFFIE_HELLMAN_VECTOR.bobPublicKey);

    for (const attempt of [seal(new Uint8Array(1), recipient), generateKeyPair()]) {
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_X25519_FAILED',
        message: 'X25519: the provider returned 31 bytes, expected a 32-byte Uint8Array',
      });
    }
  });

  it('fails open with ERR_X25519_FAILED', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new Uint8Array([1]), recipient.publicKey);
    const cause = new Error('device removed');
    const throwing = throwingProvider(cause);
    await installThenFail(throwing);

    const attempt = open(sealed, recipient.secretKey, recipient.publicKey);

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message: 'X25519: the provider failed',
      cause,
    });
  });

  it('fails imported keys with ERR_X25519_FAILED', async () => {
    const cause = new Error('device removed');
    const throwing = throwingProvider(cause);
    const provider = providerThatTurns(throwing);
    await setX25519Backend(provider);
    const keyPair = await generateKeyPair();
    const recipient = await importKeyPair(keyPair);
    const to = await importPublicKey(keyPair.publicKey);
    const sealed = await seal(new Uint8Array([1]), to);
    // The imported keys keep the provider, so its failures reach them after this too.
    await setX25519Backend('auto');
    provider.turn();

    for (const attempt of [open(sealed, recipient), seal(new Uint8Array([1]), to)]) {
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_X25519_FAILED',
        message: 'X25519: the provider failed',
        cause,
      });
    }
  });

  it('reports a result of another type', async () => {
    const wrongType: X25519Provider = {
      getPublicKey: () => Array.from({ length: 32 }, () => 0) as unknown as Uint8Array,
      getSharedSecret: () => 'shared' as unknown as Uint8Array,
    };
    await installThenFail(wrongType);

    await expect(generateKeyPair()).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message: 'X25519: the provider returned an array, expected a 32-byte Uint8Array',
    });
  });

  it('reports an all-zero shared secret', async () => {
    const zero: X25519Provider = {
      getPublicKey: (secretKey) => LIBSODIUM_PROVIDER.getPublicKey(secretKey),
      getSharedSecret: () => new Uint8Array(32),
    };
    await installThenFail(zero);

    await expect(
      seal(new Uint8Array(1), hexToBytes(DIFFIE_HELLMAN_VECTOR.bobPublicKey)),
    ).rejects.toMatchObject({
      code: 'ERR_X25519_FAILED',
      message:
        'X25519: the provider returned an all-zero shared secret for a public key that is not of low order',
    });
  });
});
