import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deriveBoxKey, secretboxOpen, secretboxSeal } from '../src/box.js';
import { CryptoError } from '../src/errors.js';
import { open } from '../src/seal.js';
import { setX25519Backend, x25519SharedSecret } from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { NACL_BOX_VECTOR } from './vectors/nacl-box.js';
import sealedBoxesJson from './vectors/sealed-boxes.json?raw';

interface SealedBoxVectors {
  source: string;
  recipientSecretKey: string;
  recipientPublicKey: string;
  boxes: { plaintext: string; sealed: string }[];
}

const SEALED_BOXES = JSON.parse(sealedBoxesJson) as SealedBoxVectors;

beforeAll(async () => {
  await sodium.ready;
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe('NaCl box vector', () => {
  it('is the output of libsodium crypto_box_easy', () => {
    const box = sodium.crypto_box_easy(
      hexToBytes(NACL_BOX_VECTOR.message),
      hexToBytes(NACL_BOX_VECTOR.nonce),
      hexToBytes(NACL_BOX_VECTOR.bobPublicKey),
      hexToBytes(NACL_BOX_VECTOR.aliceSecretKey),
    );

    expect(bytesToHex(box)).toBe(NACL_BOX_VECTOR.box);
  });
});

describe.each(BACKENDS)('known answers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  async function beforenm(): Promise<Uint8Array<ArrayBuffer>> {
    const shared = await x25519SharedSecret(
      hexToBytes(NACL_BOX_VECTOR.aliceSecretKey),
      hexToBytes(NACL_BOX_VECTOR.bobPublicKey),
      'bobPublicKey',
    );
    return deriveBoxKey(shared);
  }

  it('derives the NaCl crypto_box_beforenm key', async () => {
    expect(bytesToHex(await beforenm())).toBe(NACL_BOX_VECTOR.beforenm);
  });

  it('encrypts the 131-byte NaCl message to the published box', async () => {
    const sealed = secretboxSeal(
      await beforenm(),
      hexToBytes(NACL_BOX_VECTOR.nonce),
      hexToBytes(NACL_BOX_VECTOR.message),
      new Uint8Array(0),
    );

    expect(sealed).toHaveLength(147);
    expect(bytesToHex(sealed)).toBe(NACL_BOX_VECTOR.box);
  });

  it('decrypts the published box to the 131-byte message', async () => {
    const opened = secretboxOpen(
      await beforenm(),
      hexToBytes(NACL_BOX_VECTOR.nonce),
      hexToBytes(NACL_BOX_VECTOR.box),
    );

    expect(bytesToHex(opened)).toBe(NACL_BOX_VECTOR.message);
  });

  it('rejects the published box with its last byte changed', async () => {
    const box = hexToBytes(NACL_BOX_VECTOR.box);
    box[146] = (box[146] as number) ^ 0x01;

    const key = await beforenm();
    expect(() => secretboxOpen(key, hexToBytes(NACL_BOX_VECTOR.nonce), box)).toThrow();
  });

  it.each(SEALED_BOXES.boxes.map((box) => [box.plaintext.length / 2, box] as const))(
    'opens the %i-byte libsodium sealed box vector',
    async (_length, vector) => {
      const opened = await open(
        hexToBytes(vector.sealed),
        hexToBytes(SEALED_BOXES.recipientSecretKey),
      );

      expect(bytesToHex(opened)).toBe(vector.plaintext);
      const openedWithPublicKey = await open(
        hexToBytes(vector.sealed),
        hexToBytes(SEALED_BOXES.recipientSecretKey),
        hexToBytes(SEALED_BOXES.recipientPublicKey),
      );
      expect(bytesToHex(openedWithPublicKey)).toBe(vector.plaintext);
    },
  );

  it('rejects each sealed box vector with its tag changed', async () => {
    for (const vector of SEALED_BOXES.boxes) {
      const sealed = hexToBytes(vector.sealed);
      sealed[32] = (sealed[32] as number) ^ 0x80;

      const attempt = open(sealed, hexToBytes(SEALED_BOXES.recipientSecretKey));

      await expect(attempt).rejects.toBeInstanceOf(CryptoError);
      await expect(attempt).rejects.toMatchObject({ code: 'ERR_OPEN_FAILED' });
    }
  });
});

describe('sealed box vectors', () => {
  it('name their source and hold the recipient key pair', () => {
    expect(SEALED_BOXES.source).toContain('libsodium-wrappers');
    expect(
      bytesToHex(sodium.crypto_scalarmult_base(hexToBytes(SEALED_BOXES.recipientSecretKey))),
    ).toBe(SEALED_BOXES.recipientPublicKey);
    expect(SEALED_BOXES.boxes.map((box) => box.plaintext.length / 2)).toEqual([
      0, 1, 15, 16, 17, 32, 64, 100, 1000,
    ]);
  });
});
