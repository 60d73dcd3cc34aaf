import { randomBytes } from 'node:crypto';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import {
  generateKeyPair,
  getX25519Backend,
  open,
  seal,
  setX25519Backend,
} from '@provisions/crypto';
import { afterAll, describe, expect, it } from 'vitest';

import { NODE_X25519_PROVIDER, useNodeX25519 } from '../src/node-x25519.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

// RFC 7748 §5.2: scalar, u-coordinate and output; the second u has bit 255 set.
const SCALAR_MULT_VECTORS = [
  [
    'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  ],
  [
    '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  ],
] as const;

// RFC 7748 §5.2: k and u start at 9; k after 1,000 iterations of k, u = X25519(k, u), k.
const ITERATED_1000 = '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51';

// RFC 7748 §6.1: Bob's secret key and public key.
const BOB_SECRET_KEY = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
const BOB_PUBLIC_KEY = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';

afterAll(async () => {
  await setX25519Backend('auto');
});

describe('X25519 through node:crypto', () => {
  it.each(SCALAR_MULT_VECTORS)(
    'computes the RFC 7748 §5.2 vector for scalar %s',
    (scalar, u, output) => {
      expect(hex(NODE_X25519_PROVIDER.getSharedSecret(bytes(scalar), bytes(u)) as Uint8Array)).toBe(
        output,
      );
    },
  );

  it('computes the 1,000-iteration vector', () => {
    let k: Uint8Array = new Uint8Array(32);
    let u: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    u[0] = 9;

    for (let iteration = 0; iteration < 1000; iteration += 1) {
      const next = NODE_X25519_PROVIDER.getSharedSecret(k, u) as Uint8Array;
      u = k;
      k = next;
    }

    expect(hex(k)).toBe(ITERATED_1000);
  });

  it("computes Bob's RFC 7748 §6.1 public key", () => {
    expect(hex(NODE_X25519_PROVIDER.getPublicKey(bytes(BOB_SECRET_KEY)) as Uint8Array)).toBe(
      BOB_PUBLIC_KEY,
    );
  });

  it('agrees with noble on random inputs', () => {
    for (let run = 0; run < 200; run += 1) {
      const secretKey = new Uint8Array(randomBytes(32));
      const u = new Uint8Array(randomBytes(32));

      expect(hex(NODE_X25519_PROVIDER.getPublicKey(secretKey) as Uint8Array)).toBe(
        hex(nobleX25519.getPublicKey(secretKey)),
      );
      expect(hex(NODE_X25519_PROVIDER.getSharedSecret(secretKey, u) as Uint8Array)).toBe(
        hex(nobleX25519.getSharedSecret(secretKey, u)),
      );
    }
  });

  it('installs, and boxes cross to noble', async () => {
    expect(await useNodeX25519()).toBe(true);
    expect(await getX25519Backend()).toBe('custom');
    const recipient = await generateKeyPair();
    const message = new TextEncoder().encode('box key');

    const sealedByNode = await seal(message, recipient.publicKey);
    await setX25519Backend('noble');
    const sealedByNoble = await seal(message, recipient.publicKey);

    expect(new TextDecoder().decode(await open(sealedByNode, recipient.secretKey))).toBe('box key');
    await useNodeX25519();
    expect(new TextDecoder().decode(await open(sealedByNoble, recipient.secretKey))).toBe(
      'box key',
    );
  });
});
