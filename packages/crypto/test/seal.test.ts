import { hexToBytes } from '@noble/hashes/utils.js';
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { open, SEAL_OVERHEAD, seal } from '../src/seal.js';
import { generateKeyPair, setX25519Backend } from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { concat, libsodiumSealNonce, OPEN_FAILED, tweetnaclOpenSealed } from './sealed-boxes.js';
import { LOW_ORDER_POINTS, LOW_ORDER_POINTS_HIGH_BIT } from './vectors/low-order-points.js';

const LIBSODIUM_LENGTHS = [0, 1, 15, 16, 17, 1000, 1024 * 1024];
const TWEETNACL_LENGTHS = [0, 1, 15, 16, 17, 1000, 1024 * 1024];

// crypto.getRandomValues fills at most 65,536 bytes per call; libsodium's randombytes_buf
// takes seconds for 1 MiB.
function randomMessage(length: number): Uint8Array {
  const message = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(message.subarray(offset, offset + 65536));
  }
  return message;
}

// Vitest's toEqual walks a 1 MiB array element by element for seconds, so large results are
// compared by length and first differing index instead.
function expectSameBytes(actual: Uint8Array | null, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  const bytes = actual as Uint8Array;
  expect(bytes.length).toBe(expected.length);

  let firstDifference = -1;
  for (let i = 0; i < expected.length; i++) {
    if (bytes[i] !== expected[i]) {
      firstDifference = i;
      break;
    }
  }
  expect(firstDifference).toBe(-1);
}

async function captureError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

beforeAll(async () => {
  await sodium.ready;
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe.each(BACKENDS)('sealed boxes on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(LIBSODIUM_LENGTHS)('libsodium opens a %i-byte message sealed here', async (length) => {
    const recipient = sodium.crypto_box_keypair();
    const message = randomMessage(length);

    const sealed = await seal(message, recipient.publicKey);

    expect(sealed).toHaveLength(length + SEAL_OVERHEAD);
    const opened = sodium.crypto_box_seal_open(sealed, recipient.publicKey, recipient.privateKey);
    expectSameBytes(opened, message);
  });

  it.each(LIBSODIUM_LENGTHS)('opens a %i-byte message sealed by libsodium', async (length) => {
    const recipient = sodium.crypto_box_keypair();
    const message = randomMessage(length);
    const sealed = sodium.crypto_box_seal(message, recipient.publicKey);

    const opened = await open(sealed, recipient.privateKey);

    expectSameBytes(opened, message);
  });

  it.each(TWEETNACL_LENGTHS)('tweetnacl opens a %i-byte message sealed here', async (length) => {
    const recipient = nacl.box.keyPair();
    const message = randomMessage(length);

    const sealed = await seal(message, recipient.publicKey);

    expectSameBytes(tweetnaclOpenSealed(sealed, recipient), message);
  });

  it.each(TWEETNACL_LENGTHS)('opens a %i-byte message boxed by tweetnacl', async (length) => {
    const recipient = nacl.box.keyPair();
    const ephemeral = nacl.box.keyPair();
    const message = randomMessage(length);
    const nonce = libsodiumSealNonce(ephemeral.publicKey, recipient.publicKey);
    const box = nacl.box(message, nonce, recipient.publicKey, ephemeral.secretKey);

    const opened = await open(concat(ephemeral.publicKey, box), recipient.secretKey);

    expectSameBytes(opened, message);
  });

  it('opens with the recipient public key given', async () => {
    const recipient = sodium.crypto_box_keypair();
    const message = randomMessage(100);
    const sealed = sodium.crypto_box_seal(message, recipient.publicKey);

    const opened = await open(sealed, recipient.privateKey, recipient.publicKey);

    expectSameBytes(opened, message);
  });

  it('rejects a public key of another key pair', async () => {
    const recipient = await generateKeyPair();
    const someoneElse = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('hello'), recipient.publicKey);

    const attempt = open(sealed, recipient.secretKey, someoneElse.publicKey);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
  });

  it('seals to a different ephemeral key each time', async () => {
    const recipient = await generateKeyPair();
    const message = new TextEncoder().encode('same message');

    const first = await seal(message, recipient.publicKey);
    const second = await seal(message, recipient.publicKey);

    expect(first.subarray(0, 32)).not.toEqual(second.subarray(0, 32));
  });

  it('opens a 48-byte box of an empty message', async () => {
    const recipient = sodium.crypto_box_keypair();
    const sealed = sodium.crypto_box_seal(new Uint8Array(0), recipient.publicKey);
    expect(sealed).toHaveLength(48);

    const opened = await open(sealed, recipient.privateKey);

    expect(opened).toEqual(new Uint8Array(0));
  });

  it('rejects every single-bit flip with one uniform error', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(Uint8Array.of(42), recipient.publicKey);
    const errors: unknown[] = [];

    for (let byte = 0; byte < sealed.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = new Uint8Array(sealed);
        tampered[byte] = (tampered[byte] as number) ^ (1 << bit);
        errors.push(await captureError(open(tampered, recipient.secretKey)));
      }
    }

    expect(errors).toHaveLength(sealed.length * 8);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CryptoError);
      expect(error).toMatchObject(OPEN_FAILED);
    }
  });

  it.each([0, 31, 47])('rejects a truncated %i-byte box with a length error', async (length) => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('hello'), recipient.publicKey);

    const attempt = open(sealed.subarray(0, length), recipient.secretKey);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: `sealed: expected at least 48 bytes, received ${length}`,
    });
  });

  it('rejects a 48-byte box whose tag is not authentic', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new Uint8Array(0), recipient.publicKey);
    expect(sealed).toHaveLength(48);
    const forged = new Uint8Array(sealed);
    forged[47] = (forged[47] as number) ^ 0x01;

    const attempt = open(forged, recipient.secretKey);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
    expect(await open(sealed, recipient.secretKey)).toEqual(new Uint8Array(0));
  });

  it('rejects a 48-byte box of zeros', async () => {
    const recipient = await generateKeyPair();

    const attempt = open(new Uint8Array(48), recipient.secretKey);

    await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
  });

  it('rejects a box whose tag was cut off', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('hello'), recipient.publicKey);

    const attempt = open(sealed.subarray(0, sealed.length - 1), recipient.secretKey);

    await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
  });

  it('rejects the wrong secret key with the uniform error', async () => {
    const recipient = await generateKeyPair();
    const someoneElse = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('hello'), recipient.publicKey);

    const attempt = open(sealed, someoneElse.secretKey);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
  });

  it.each([...LOW_ORDER_POINTS, ...LOW_ORDER_POINTS_HIGH_BIT])(
    'refuses to seal to low-order point %s',
    async (hex) => {
      const attempt = seal(new TextEncoder().encode('hello'), hexToBytes(hex));

      await expect(attempt).rejects.toBeInstanceOf(CryptoError);
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_LOW_ORDER_POINT',
        message: 'recipientPublicKey: low-order point, the X25519 shared secret would be all zeros',
      });
    },
  );

  it.each([...LOW_ORDER_POINTS, ...LOW_ORDER_POINTS_HIGH_BIT])(
    'rejects a box whose ephemeral key is low-order point %s',
    async (hex) => {
      const recipient = await generateKeyPair();
      const point = hexToBytes(hex);

      // tweetnacl does not reject low-order points, so this box is exactly what an
      // implementation without the check would accept: its key comes from the all-zero
      // shared secret.
      const zeroSharedKey = nacl.box.before(point, nacl.randomBytes(32));
      const nonce = libsodiumSealNonce(point, recipient.publicKey);
      const box = nacl.secretbox(new TextEncoder().encode('hello'), nonce, zeroSharedKey);
      const sealed = concat(point, box);
      expect(() =>
        sodium.crypto_box_seal_open(sealed, recipient.publicKey, recipient.secretKey),
      ).toThrow();

      const attempt = open(sealed, recipient.secretKey);

      await expect(attempt).rejects.toBeInstanceOf(CryptoError);
      await expect(attempt).rejects.toMatchObject(OPEN_FAILED);
    },
  );
});

describe('across backends', () => {
  it('a box sealed on any backend opens on every other', async () => {
    const recipient = await generateKeyPair();
    const message = randomMessage(100);

    for (const sealer of BACKENDS) {
      for (const opener of BACKENDS.filter((backend) => backend !== sealer)) {
        await useBackend(sealer);
        const sealed = await seal(message, recipient.publicKey);
        await useBackend(opener);
        expectSameBytes(await open(sealed, recipient.secretKey), message);
      }
    }
  });
});

describe('seal input checks', () => {
  it('rejects a 31-byte recipient public key', async () => {
    const attempt = seal(new Uint8Array(1), new Uint8Array(31));

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'recipientPublicKey: expected 32 bytes, received 31',
    });
  });

  it('rejects a string plaintext', async () => {
    const recipient = await generateKeyPair();

    const attempt = seal('hello' as unknown as Uint8Array, recipient.publicKey);

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'plaintext: expected a Uint8Array, received a string',
    });
  });

  it('rejects a 31-byte recipient public key in open', async () => {
    const recipient = await generateKeyPair();
    const sealed = await seal(new Uint8Array(1), recipient.publicKey);

    const attempt = open(sealed, recipient.secretKey, recipient.publicKey.subarray(1));

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'recipientPublicKey: expected 32 bytes, received 31',
    });
  });

  it('rejects a 33-byte recipient secret key', async () => {
    const attempt = open(new Uint8Array(48), new Uint8Array(33));

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'recipientSecretKey: expected 32 bytes, received 33',
    });
  });
});
