import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { isAllZero } from '../src/bytes.js';
import { importKeyPair } from '../src/imported-keys.js';
import { open, seal } from '../src/seal.js';
import { recoverSecretKey, splitSecret } from '../src/shares.js';
import { generateKeyPair, setX25519Backend, type X25519Provider } from '../src/x25519.js';
import { BACKENDS, LIBSODIUM_PROVIDER, useBackend } from './backends.js';

// The primitives are wrapped, not replaced: each wrapper records the buffer that this
// package passes in or receives, then calls the real function. After the public call
// returns, every recorded secret buffer must be all zeros. X25519 secret key inputs and
// shared secrets are recorded by the noble wrappers and, on the `custom` backend, by a
// provider that wraps libsodium.
const recorded = vi.hoisted(() => ({
  cipherKeys: [] as Uint8Array[],
  hsalsaKeys: [] as Uint32Array[],
  x25519SharedSecrets: [] as Uint8Array[],
  x25519SecretKeyInputs: [] as Uint8Array[],
}));

vi.mock('@noble/ciphers/salsa.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('@noble/ciphers/salsa.js')>();
  return {
    ...original,
    hsalsa: (...args: Parameters<typeof original.hsalsa>) => {
      recorded.hsalsaKeys.push(args[1]);
      return original.hsalsa(...args);
    },
    xsalsa20poly1305: (key: Uint8Array, nonce: Uint8Array) => {
      recorded.cipherKeys.push(key);
      return original.xsalsa20poly1305(key, nonce);
    },
  };
});

vi.mock('@noble/curves/ed25519.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('@noble/curves/ed25519.js')>();
  const x25519 = {
    ...original.x25519,
    getPublicKey: (secretKey: Uint8Array) => {
      recorded.x25519SecretKeyInputs.push(secretKey);
      return original.x25519.getPublicKey(secretKey);
    },
    getSharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array) => {
      recorded.x25519SecretKeyInputs.push(secretKey);
      const shared = original.x25519.getSharedSecret(secretKey, publicKey);
      recorded.x25519SharedSecrets.push(shared);
      return shared;
    },
  };
  return { ...original, x25519 };
});

const RECORDING_PROVIDER: X25519Provider = {
  getPublicKey: (secretKey) => {
    recorded.x25519SecretKeyInputs.push(secretKey);
    return LIBSODIUM_PROVIDER.getPublicKey(secretKey);
  },
  getSharedSecret: async (secretKey, publicKey) => {
    recorded.x25519SecretKeyInputs.push(secretKey);
    const shared = await LIBSODIUM_PROVIDER.getSharedSecret(secretKey, publicKey);
    recorded.x25519SharedSecrets.push(shared);
    return shared;
  },
};

function clearRecords(): void {
  for (const list of Object.values(recorded)) {
    list.length = 0;
  }
}

function expectAllWiped(buffers: ArrayLike<number>[], label: string): void {
  expect(buffers.length, `${label} recorded`).toBeGreaterThan(0);
  for (const buffer of buffers) {
    expect(isAllZero(new Uint8Array(Array.from(buffer))), label).toBe(true);
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  clearRecords();
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe.each(BACKENDS)('wiping on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    if (backend === 'custom') {
      // Replaces the plain libsodium provider with the recording one.
      await setX25519Backend(RECORDING_PROVIDER);
    }
  });

  it('seal wipes the shared secret, the box key and the HSalsa20 input', async () => {
    const recipient = await generateKeyPair();
    const derived: ArrayBuffer[] = [];
    const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation(async (...args) => {
      const bits = await deriveBits(...args);
      derived.push(bits);
      return bits;
    });
    clearRecords();

    await seal(new TextEncoder().encode('secret box key'), recipient.publicKey);

    expectAllWiped(recorded.cipherKeys, 'box key');
    expectAllWiped(recorded.hsalsaKeys, 'HSalsa20 key input');
    if (backend === 'webcrypto') {
      expectAllWiped(
        derived.map((bits) => new Uint8Array(bits)),
        'WebCrypto shared secret',
      );
    } else {
      expectAllWiped(recorded.x25519SharedSecrets, 'X25519 shared secret');
      expectAllWiped(recorded.x25519SecretKeyInputs, 'ephemeral secret key');
    }
  });

  it('open wipes the shared secret, the box key and its copy of the secret key', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('secret box key'), recipient.publicKey);
    clearRecords();

    const opened = await open(sealed, recipient.secretKey);

    expect(new TextDecoder().decode(opened)).toBe('secret box key');
    expectAllWiped(recorded.cipherKeys, 'box key');
    expectAllWiped(recorded.hsalsaKeys, 'HSalsa20 key input');
    expectAllWiped(recorded.x25519SecretKeyInputs, 'secret key copy');
    if (backend !== 'webcrypto') {
      expectAllWiped(recorded.x25519SharedSecrets, 'X25519 shared secret');
    }
    expect(isAllZero(recipient.secretKey)).toBe(false);
  });

  it('open with an imported pair wipes secrets', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('secret box key'), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);
    clearRecords();

    const opened = await open(sealed, recipient);

    expect(new TextDecoder().decode(opened)).toBe('secret box key');
    expectAllWiped(recorded.cipherKeys, 'box key');
    expectAllWiped(recorded.hsalsaKeys, 'HSalsa20 key input');
    if (backend !== 'webcrypto') {
      expectAllWiped(recorded.x25519SharedSecrets, 'X25519 shared secret');
      expectAllWiped(recorded.x25519SecretKeyInputs, 'secret key copy passed to X25519');
    }
  });

  it('destroy wipes the secret key copy', async () => {
    const keyPair = await generateKeyPair();
    const recipient = await importKeyPair(keyPair);
    const secretKeyHex = bytesToHex(keyPair.secretKey);
    const filled: { array: Uint8Array; before: string }[] = [];
    const fill = Uint8Array.prototype.fill;
    vi.spyOn(Uint8Array.prototype, 'fill').mockImplementation(function (
      this: Uint8Array,
      ...args: Parameters<Uint8Array['fill']>
    ) {
      filled.push({ array: this, before: bytesToHex(this) });
      return fill.apply(this, args);
    });

    recipient.destroy();

    const copies = filled.filter(({ before }) => before === secretKeyHex);
    // On WebCrypto the object contains a non-extractable CryptoKey and no bytes to wipe.
    expect(copies).toHaveLength(backend === 'webcrypto' ? 0 : 1);
    for (const { array } of copies) {
      expect(isAllZero(array)).toBe(true);
    }
    expect(bytesToHex(keyPair.secretKey)).toBe(secretKeyHex);
  });

  it('recoverSecretKey wipes a rebuilt key that does not match', async () => {
    const keyPair = await generateKeyPair();
    const other = await generateKeyPair();
    const shares = await splitSecret(keyPair.secretKey);
    clearRecords();

    await expect(recoverSecretKey(shares, other.publicKey)).rejects.toMatchObject({
      code: 'ERR_KEY_MISMATCH',
    });

    expectAllWiped(recorded.x25519SecretKeyInputs, 'rebuilt secret key');
  });
});
