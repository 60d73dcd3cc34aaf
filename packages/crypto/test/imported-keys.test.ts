import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { importKeyPair, importPublicKey } from '../src/imported-keys.js';
import { open, SEAL_OVERHEAD, seal } from '../src/seal.js';
import { sealMany, sealToMany } from '../src/seal-batch.js';
import { generateKeyPair, setX25519Backend } from '../src/x25519.js';
import { BACKENDS, countingProvider, useBackend } from './backends.js';
import { rejectionOf } from './rejection.js';
import { concat, libsodiumSealNonce, OPEN_FAILED, tweetnaclOpenSealed } from './sealed-boxes.js';
import { LOW_ORDER_POINTS, LOW_ORDER_POINTS_HIGH_BIT } from './vectors/low-order-points.js';

const LENGTHS = [0, 1, 16, 1000];
const ALL_LOW_ORDER_POINTS = [...LOW_ORDER_POINTS, ...LOW_ORDER_POINTS_HIGH_BIT];

/** Returns `length` bytes that differ from one length to the next. */
function message(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + length) & 0xff);
}

beforeAll(async () => {
  await sodium.ready;
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe.each(BACKENDS)('imported keys on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('computes the public key when none is given', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(5), keyPair.publicKey);

    const recipient = await importKeyPair({ secretKey: keyPair.secretKey });

    expect(recipient.publicKey).toEqual(keyPair.publicKey);
    expect(await open(sealed, recipient)).toEqual(message(5));
  });

  it.each(LENGTHS)('libsodium opens a %i-byte message sealed to one', async (length) => {
    const recipient = sodium.crypto_box_keypair();
    const to = await importPublicKey(recipient.publicKey);
    const plaintext = message(length);

    const sealed = await seal(plaintext, to);

    expect(sealed).toHaveLength(length + SEAL_OVERHEAD);
    const opened = sodium.crypto_box_seal_open(sealed, recipient.publicKey, recipient.privateKey);
    expect(bytesToHex(opened)).toBe(bytesToHex(plaintext));
  });

  it.each(LENGTHS)('open a %i-byte message sealed by libsodium', async (length) => {
    const keyPair = sodium.crypto_box_keypair();
    const recipient = await importKeyPair({
      secretKey: keyPair.privateKey,
      publicKey: keyPair.publicKey,
    });
    const plaintext = message(length);

    const opened = await open(sodium.crypto_box_seal(plaintext, keyPair.publicKey), recipient);

    expect(bytesToHex(opened)).toBe(bytesToHex(plaintext));
  });

  it('tweetnacl opens a box sealed to one', async () => {
    const recipient = nacl.box.keyPair();
    const to = await importPublicKey(recipient.publicKey);
    const plaintext = message(100);

    const sealed = await seal(plaintext, to);

    const opened = tweetnaclOpenSealed(sealed, recipient);
    expect(bytesToHex(opened ?? new Uint8Array(0))).toBe(bytesToHex(plaintext));
  });

  it('open a box made by tweetnacl', async () => {
    const keyPair = nacl.box.keyPair();
    const ephemeral = nacl.box.keyPair();
    const plaintext = message(100);
    const nonce = libsodiumSealNonce(ephemeral.publicKey, keyPair.publicKey);
    const box = nacl.box(plaintext, nonce, keyPair.publicKey, ephemeral.secretKey);
    const recipient = await importKeyPair(keyPair);

    const opened = await open(concat(ephemeral.publicKey, box), recipient);

    expect(bytesToHex(opened)).toBe(bytesToHex(plaintext));
  });

  it('keep their own copies of the keys', async () => {
    const keyPair = await generateKeyPair();
    const secretKey = new Uint8Array(keyPair.secretKey);
    const publicKey = new Uint8Array(keyPair.publicKey);
    const recipient = await importKeyPair({ secretKey, publicKey });
    const to = await importPublicKey(publicKey);

    secretKey.fill(0xff);
    publicKey.fill(0xff);
    const sealed = await seal(message(7), to);

    expect(to.publicKey).toEqual(keyPair.publicKey);
    expect(recipient.publicKey).toEqual(keyPair.publicKey);
    expect(await open(sealed, recipient)).toEqual(message(7));
  });

  it('open many boxes at once with one key pair', async () => {
    const keyPair = await generateKeyPair();
    const plaintexts = Array.from({ length: 20 }, (_, index) => message(index));
    const boxes = await sealMany(plaintexts, await importPublicKey(keyPair.publicKey));
    const recipient = await importKeyPair(keyPair);

    const opened = await Promise.all(boxes.map((box) => open(box, recipient)));

    expect(opened.map((plaintext) => bytesToHex(plaintext))).toEqual(
      plaintexts.map((plaintext) => bytesToHex(plaintext)),
    );
  });

  it('seal in sealToMany among plain keys', async () => {
    const recipients = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const [first, second] = recipients as [(typeof recipients)[0], (typeof recipients)[1]];
    const plaintext = message(33);

    const boxes = await sealToMany(plaintext, [
      await importPublicKey(first.publicKey),
      second.publicKey,
    ]);

    expect(boxes).toHaveLength(2);
    expect(await open(boxes[0] as Uint8Array, first.secretKey)).toEqual(plaintext);
    expect(await open(boxes[1] as Uint8Array, second.secretKey)).toEqual(plaintext);
  });

  it('reject every single-bit flip with the uniform error', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(Uint8Array.of(42), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    for (let byte = 0; byte < sealed.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = new Uint8Array(sealed);
        tampered[byte] = (tampered[byte] as number) ^ (1 << bit);

        const error = await rejectionOf(open(tampered, recipient));

        expect(error).toMatchObject(OPEN_FAILED);
        expect(error.cause).toBeUndefined();
      }
    }
    expect(await open(sealed, recipient)).toEqual(Uint8Array.of(42));
  });

  it('reject a box for another key pair with the uniform error', async () => {
    const keyPair = await generateKeyPair();
    const someoneElse = await importKeyPair(await generateKeyPair());
    const sealed = await seal(message(5), keyPair.publicKey);

    const error = await rejectionOf(open(sealed, someoneElse));

    expect(error).toMatchObject(OPEN_FAILED);
  });

  it('reject boxes whose ephemeral key is of low order with the uniform error', async () => {
    const keyPair = await generateKeyPair();
    const recipient = await importKeyPair(keyPair);

    for (const hex of ALL_LOW_ORDER_POINTS) {
      const point = hexToBytes(hex);
      // As in the seal tests: a box that an implementation without the low-order check
      // would open, because its key comes from the all-zero shared secret.
      const zeroSharedKey = nacl.box.before(point, nacl.randomBytes(32));
      const nonce = libsodiumSealNonce(point, keyPair.publicKey);
      const box = nacl.secretbox(message(5), nonce, zeroSharedKey);

      const error = await rejectionOf(open(concat(point, box), recipient));

      expect(error, hex).toMatchObject(OPEN_FAILED);
    }
  });

  it('reject a truncated box with a length error', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(5), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    for (const length of [0, 31, 47]) {
      const error = await rejectionOf(open(sealed.subarray(0, length), recipient));

      expect(error).toMatchObject({
        code: 'ERR_INVALID_LENGTH',
        message: `sealed: expected at least 48 bytes, received ${length}`,
      });
    }
  });

  it('reject a destroyed key pair', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(3), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    recipient.destroy();
    const error = await rejectionOf(open(sealed, recipient));

    expect(error).toMatchObject({
      code: 'ERR_KEY_DESTROYED',
      message:
        'recipient: the ImportedKeyPair was destroyed, so import the key pair again with importKeyPair',
    });
    expect(recipient.publicKey).toEqual(keyPair.publicKey);
    expect(() => recipient.destroy()).not.toThrow();
  });

  it('finish an open that started before destroy', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(3), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    const opening = open(sealed, recipient);
    recipient.destroy();

    expect(await opening).toEqual(message(3));
  });
});

describe('importKeyPair checks', () => {
  it('rejects the public key of another key pair', async () => {
    const keyPair = await generateKeyPair();
    const someoneElse = await generateKeyPair();

    const error = await rejectionOf(
      importKeyPair({ secretKey: keyPair.secretKey, publicKey: someoneElse.publicKey }),
    );

    expect(error).toMatchObject({
      code: 'ERR_KEY_MISMATCH',
      message: 'keyPair.publicKey: does not match the secret key, so the two are not one key pair',
    });
  });

  it.each(BACKENDS)('rejects a public key changed only in bit 255 on %s', async (backend) => {
    // X25519 ignores bit 255, but the sealed-box nonce hashes it, so every box would fail.
    await useBackend(backend);
    const keyPair = await generateKeyPair();
    const publicKey = new Uint8Array(keyPair.publicKey);
    publicKey[31] = (publicKey[31] as number) | 0x80;

    const error = await rejectionOf(importKeyPair({ secretKey: keyPair.secretKey, publicKey }));

    expect(error.code).toBe('ERR_KEY_MISMATCH');
  });

  it('rejects every low-order public key', async () => {
    const keyPair = await generateKeyPair();

    for (const hex of ALL_LOW_ORDER_POINTS) {
      const attempt = importKeyPair({ secretKey: keyPair.secretKey, publicKey: hexToBytes(hex) });

      expect(await rejectionOf(attempt), hex).toMatchObject({
        code: 'ERR_LOW_ORDER_POINT',
        message: 'keyPair.publicKey: low-order point, the X25519 shared secret would be all zeros',
      });
    }
  });

  it.each([
    ['a Uint8Array', new Uint8Array(32), 'an instance of Uint8Array'],
    ['an array', [new Uint8Array(32)], 'an array'],
    ['a string', 'secret', 'a string'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
  ])('rejects %s as the key pair', async (_kind, value, received) => {
    const attempt = importKeyPair(value as unknown as { secretKey: Uint8Array });

    expect(await rejectionOf(attempt)).toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: `keyPair: expected an object { secretKey, publicKey }, received ${received}`,
    });
  });

  it.each([
    [
      { secretKey: new Uint8Array(31) },
      'ERR_INVALID_LENGTH',
      'keyPair.secretKey: expected 32 bytes, received 31',
    ],
    [
      { publicKey: new Uint8Array(32) },
      'ERR_INVALID_TYPE',
      'keyPair.secretKey: expected a Uint8Array, received undefined',
    ],
    [
      { secretKey: new Uint8Array(32), publicKey: new Uint8Array(33) },
      'ERR_INVALID_LENGTH',
      'keyPair.publicKey: expected 32 bytes, received 33',
    ],
    [
      { secretKey: new Uint8Array(32), publicKey: 'key' },
      'ERR_INVALID_TYPE',
      'keyPair.publicKey: expected a Uint8Array, received a string',
    ],
  ])('names the field in %o', async (keyPair, code, expected) => {
    const attempt = importKeyPair(keyPair as unknown as { secretKey: Uint8Array });

    expect(await rejectionOf(attempt)).toMatchObject({ code, message: expected });
  });

  it('returns a frozen object that shows no key material', async () => {
    const keyPair = await generateKeyPair();

    const recipient = await importKeyPair(keyPair);

    expect(Object.isFrozen(recipient)).toBe(true);
    expect(Reflect.ownKeys(recipient)).toEqual([]);
    expect(JSON.stringify(recipient)).toBe('{}');
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(recipient)).sort()).toEqual([
      'constructor',
      'destroy',
      'publicKey',
    ]);
  });

  it('keeps destroy from being replaced', async () => {
    await useBackend('noble');
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(3), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);
    const prototype = Object.getPrototypeOf(recipient);

    expect(() => {
      prototype.destroy = () => undefined;
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(prototype, 'publicKey', { value: 1 })).toThrow(TypeError);
    recipient.destroy();
    expect(await rejectionOf(open(sealed, recipient))).toMatchObject({
      code: 'ERR_KEY_DESTROYED',
    });
  });

  it('wraps a property getter that throws', async () => {
    const keyPair = {
      get secretKey(): Uint8Array {
        throw new Error('unreadable');
      },
    };

    const error = await rejectionOf(importKeyPair(keyPair));

    expect(error).toMatchObject({
      name: 'CryptoError',
      code: 'ERR_INVALID_TYPE',
      message:
        'keyPair: reading its secretKey or publicKey property failed; expected plain properties',
    });
    expect((error as Error).cause).toMatchObject({ message: 'unreadable' });
  });

  it('returns a new copy of the public key on every read', async () => {
    const keyPair = await generateKeyPair();
    const recipient = await importKeyPair(keyPair);

    const first = recipient.publicKey;
    first.fill(0);

    expect(recipient.publicKey).not.toBe(recipient.publicKey);
    expect(recipient.publicKey).toEqual(keyPair.publicKey);
  });

  it('imports a non-extractable secret key on WebCrypto', async () => {
    await useBackend('webcrypto');
    const imported: CryptoKey[] = [];
    const importKey = crypto.subtle.importKey.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, 'importKey').mockImplementation(async (...args) => {
      const key = await (importKey as (...all: unknown[]) => Promise<CryptoKey>)(...args);
      imported.push(key);
      return key;
    });

    await importKeyPair(await generateKeyPair());

    const privateKeys = imported.filter((key) => key.type === 'private');
    expect(privateKeys).toHaveLength(1);
    expect(privateKeys[0]?.extractable).toBe(false);
    expect(privateKeys[0]?.usages).toEqual(['deriveBits']);
  });
});

describe('importPublicKey checks', () => {
  it('rejects every low-order public key', async () => {
    for (const hex of ALL_LOW_ORDER_POINTS) {
      expect(await rejectionOf(importPublicKey(hexToBytes(hex))), hex).toMatchObject({
        code: 'ERR_LOW_ORDER_POINT',
        message: 'publicKey: low-order point, the X25519 shared secret would be all zeros',
      });
    }
  });

  it('names the public key of the wrong length or type', async () => {
    expect(await rejectionOf(importPublicKey(new Uint8Array(31)))).toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'publicKey: expected 32 bytes, received 31',
    });
    expect(await rejectionOf(importPublicKey('key' as unknown as Uint8Array))).toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'publicKey: expected a Uint8Array, received a string',
    });
  });

  it('returns a frozen object with a copy of the key', async () => {
    const keyPair = await generateKeyPair();

    const to = await importPublicKey(keyPair.publicKey);
    to.publicKey.fill(0);

    expect(Object.isFrozen(to)).toBe(true);
    expect(Object.isFrozen(Object.getPrototypeOf(to))).toBe(true);
    expect(Reflect.ownKeys(to)).toEqual([]);
    expect(to.publicKey).toEqual(keyPair.publicKey);
  });
});

describe('imported keys as arguments', () => {
  it('open rejects a third argument with an imported key pair', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(3), keyPair.publicKey);
    const recipient = await importKeyPair(keyPair);

    const attempt = (open as (...args: unknown[]) => Promise<Uint8Array>)(
      sealed,
      recipient,
      keyPair.publicKey,
    );

    expect(await rejectionOf(attempt)).toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message:
        'recipientPublicKey: must be omitted when the recipient is an ImportedKeyPair, which contains its public key',
    });
  });

  it('open rejects an imported public key as the secret key', async () => {
    const keyPair = await generateKeyPair();
    const sealed = await seal(message(3), keyPair.publicKey);
    const to = await importPublicKey(keyPair.publicKey);

    const attempt = open(sealed, to as unknown as Uint8Array);

    expect(await rejectionOf(attempt)).toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message:
        'recipientSecretKey: expected a Uint8Array or an ImportedKeyPair from importKeyPair, received an instance of ImportedPublicKey',
    });
  });

  it('seal rejects an imported key pair as the recipient', async () => {
    const recipient = await importKeyPair(await generateKeyPair());

    const attempt = seal(message(3), recipient as unknown as Uint8Array);

    expect(await rejectionOf(attempt)).toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message:
        'recipientPublicKey: expected a Uint8Array or an ImportedPublicKey from importPublicKey, received an instance of ImportedKeyPair',
    });
  });

  it('sealToMany names a bad key among imported ones', async () => {
    const to = await importPublicKey((await generateKeyPair()).publicKey);

    const attempt = sealToMany(message(3), [to, new Uint8Array(31)]);

    expect(await rejectionOf(attempt)).toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'publicKeys[1]: expected 32 bytes, received 31',
    });
  });
});

/**
 * Imports a new key pair and its public key while `importOn` is in use, then selects
 * `switchTo` and spies on WebCrypto's deriveBits. `roundTrip` seals to the imported public
 * key and opens with the imported pair.
 */
async function importThenSwitch(
  importOn: Parameters<typeof setX25519Backend>[0],
  switchTo: Parameters<typeof setX25519Backend>[0],
) {
  await setX25519Backend(importOn);
  const keyPair = await generateKeyPair();
  const recipient = await importKeyPair(keyPair);
  const to = await importPublicKey(keyPair.publicKey);
  await setX25519Backend(switchTo);

  const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
  const roundTrip = async () => {
    expect(await open(await seal(message(4), to), recipient)).toEqual(message(4));
  };
  return { deriveBits, roundTrip };
}

describe('imported keys after setX25519Backend', () => {
  beforeEach(async () => {
    await setX25519Backend('auto');
  });

  it('keep WebCrypto after a switch to noble', async () => {
    const { deriveBits, roundTrip } = await importThenSwitch('webcrypto', 'noble');

    await roundTrip();

    expect(deriveBits).toHaveBeenCalledTimes(2);
  });

  it('keep a provider after a switch to WebCrypto', async () => {
    const provider = countingProvider();
    const { deriveBits, roundTrip } = await importThenSwitch(provider, 'webcrypto');
    Object.assign(provider.calls, { publicKey: 0, shared: 0 });

    await roundTrip();

    // seal: the ephemeral public key and one shared secret; open: one shared secret.
    expect(provider.calls).toEqual({ publicKey: 1, shared: 2 });
    expect(deriveBits).not.toHaveBeenCalled();
  });

  it('keep noble after a provider is installed', async () => {
    const provider = countingProvider();
    const { deriveBits, roundTrip } = await importThenSwitch('noble', provider);
    Object.assign(provider.calls, { publicKey: 0, shared: 0 });

    await roundTrip();

    expect(provider.calls).toEqual({ publicKey: 0, shared: 0 });
    expect(deriveBits).not.toHaveBeenCalled();
  });

  it('give the same bytes across backends, both ways', async () => {
    const keyPair = await generateKeyPair();
    const plaintext = message(100);
    const imported = [];
    for (const backend of BACKENDS) {
      await useBackend(backend);
      imported.push({
        backend,
        to: await importPublicKey(keyPair.publicKey),
        recipient: await importKeyPair(keyPair),
      });
    }
    await setX25519Backend('auto');

    for (const sealer of imported) {
      for (const opener of imported.filter((item) => item !== sealer)) {
        const sealed = await seal(plaintext, sealer.to);
        const label = `sealed on ${sealer.backend}, opened on ${opener.backend}`;

        expect(bytesToHex(await open(sealed, opener.recipient)), label).toBe(bytesToHex(plaintext));
        expect(
          bytesToHex(sodium.crypto_box_seal_open(sealed, keyPair.publicKey, keyPair.secretKey)),
          label,
        ).toBe(bytesToHex(plaintext));
      }
    }
  });
});
