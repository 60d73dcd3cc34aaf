import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CryptoError } from '../src/errors.js';
import { open, SEAL_OVERHEAD, seal } from '../src/seal.js';
import { sealMany, sealToMany } from '../src/seal-batch.js';
import { generateKeyPair, setX25519Backend } from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { LOW_ORDER_POINTS } from './vectors/low-order-points.js';

function message(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

beforeAll(async () => {
  await sodium.ready;
});

afterAll(async () => {
  await setX25519Backend('auto');
});

describe.each(BACKENDS)('batch sealing on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('sealToMany gives one box per recipient, each opening with its own key', async () => {
    const recipients = await Promise.all(Array.from({ length: 20 }, () => generateKeyPair()));
    const plaintext = message(100, 7);

    const boxes = await sealToMany(
      plaintext,
      recipients.map((recipient) => recipient.publicKey),
    );

    expect(boxes).toHaveLength(20);
    for (const [index, box] of boxes.entries()) {
      const recipient = recipients[index] as (typeof recipients)[number];
      expect(box).toHaveLength(100 + SEAL_OVERHEAD);
      expect(bytesToHex(await open(box, recipient.secretKey))).toBe(bytesToHex(plaintext));
      expect(
        bytesToHex(sodium.crypto_box_seal_open(box, recipient.publicKey, recipient.secretKey)),
      ).toBe(bytesToHex(plaintext));
    }

    const otherRecipient = recipients[1] as (typeof recipients)[number];
    await expect(open(boxes[0] as Uint8Array, otherRecipient.secretKey)).rejects.toMatchObject({
      code: 'ERR_OPEN_FAILED',
    });
  });

  it('sealMany gives one box per plaintext, in order, with distinct ephemeral keys', async () => {
    const recipient = sodium.crypto_box_keypair();
    const plaintexts = [0, 1, 15, 16, 17, 1000].map((length) => message(length, length));

    const boxes = await sealMany(plaintexts, recipient.publicKey);

    expect(boxes).toHaveLength(plaintexts.length);
    const ephemeralKeys = new Set(boxes.map((box) => bytesToHex(box.subarray(0, 32))));
    expect(ephemeralKeys.size).toBe(plaintexts.length);
    for (const [index, box] of boxes.entries()) {
      const plaintext = plaintexts[index] as Uint8Array;
      expect(box).toHaveLength(plaintext.length + SEAL_OVERHEAD);
      expect(bytesToHex(await open(box, recipient.privateKey))).toBe(bytesToHex(plaintext));
      expect(
        bytesToHex(sodium.crypto_box_seal_open(box, recipient.publicKey, recipient.privateKey)),
      ).toBe(bytesToHex(plaintext));
    }
  });

  it('batch boxes have the layout and length of single seal boxes', async () => {
    const recipient = await generateKeyPair();
    const plaintext = message(33, 1);

    const single = await seal(plaintext, recipient.publicKey);
    const [toMany] = await sealToMany(plaintext, [recipient.publicKey]);
    const [many] = await sealMany([plaintext], recipient.publicKey);

    for (const box of [toMany, many] as Uint8Array[]) {
      expect(Object.getPrototypeOf(box)).toBe(Uint8Array.prototype);
      expect(box).toHaveLength(single.length);
      expect(bytesToHex(await open(box, recipient.secretKey))).toBe(bytesToHex(plaintext));
    }
  });

  it('seals more boxes than run at once', async () => {
    const recipient = await generateKeyPair();
    const plaintexts = Array.from({ length: 40 }, (_, index) => message(1, index));

    const boxes = await sealMany(plaintexts, recipient.publicKey);

    const opened = await Promise.all(boxes.map((box) => open(box, recipient.secretKey)));
    expect(opened.map((plaintext) => plaintext[0])).toEqual(plaintexts.map((p) => p[0]));
  });

  it('return empty arrays for empty input', async () => {
    const recipient = await generateKeyPair();

    expect(await sealToMany(message(1, 1), [])).toEqual([]);
    expect(await sealMany([], recipient.publicKey)).toEqual([]);
  });
});

describe('batch sealing input checks', () => {
  it('sealToMany names the recipient key of the wrong length', async () => {
    const recipient = await generateKeyPair();

    const attempt = sealToMany(message(1, 1), [recipient.publicKey, new Uint8Array(31)]);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_LENGTH',
      message: 'publicKeys[1]: expected 32 bytes, received 31',
    });
  });

  it('sealToMany names a low-order recipient key', async () => {
    const recipient = await generateKeyPair();

    const attempt = sealToMany(message(1, 1), [
      recipient.publicKey,
      hexToBytes(LOW_ORDER_POINTS[0]),
    ]);

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_LOW_ORDER_POINT',
      message: 'publicKeys[1]: low-order point, the X25519 shared secret would be all zeros',
    });
  });

  it('sealMany names the plaintext that is not a Uint8Array', async () => {
    const recipient = await generateKeyPair();

    const attempt = sealMany([message(1, 1), 'text' as unknown as Uint8Array], recipient.publicKey);

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'plaintexts[1]: expected a Uint8Array, received a string',
    });
  });

  it('sealMany rejects a low-order recipient key', async () => {
    const attempt = sealMany([message(1, 1)], hexToBytes(LOW_ORDER_POINTS[1]));

    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_LOW_ORDER_POINT',
      message: 'publicKey: low-order point, the X25519 shared secret would be all zeros',
    });
  });

  it('reject a non-array list', async () => {
    const recipient = await generateKeyPair();

    await expect(
      sealToMany(message(1, 1), recipient.publicKey as unknown as Uint8Array[]),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'publicKeys: expected an array of Uint8Array',
    });
    await expect(
      sealMany(message(1, 1) as unknown as Uint8Array[], recipient.publicKey),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_TYPE',
      message: 'plaintexts: expected an array of Uint8Array',
    });
  });
});
