import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { decodeBase64Url, encodeBase64Url } from '../src/base64url.js';
import { hashShare } from '../src/hash.js';
import { importKeyPair, importPublicKey } from '../src/imported-keys.js';
import { decryptWithPassphrase, encryptWithPassphrase } from '../src/passphrase.js';
import { SCRYPT_MIN_N } from '../src/passphrase-envelope.js';
import { createProvision } from '../src/provision.js';
import { open, seal } from '../src/seal.js';
import { combineShares, recoverSecretKey, splitSecret } from '../src/shares.js';
import { generateKeyPair, getPublicKey, setX25519Backend } from '../src/x25519.js';
import { BACKENDS, useBackend } from './backends.js';
import { RUNS_IN_NODE } from './environment.js';

// Node.js Buffer, read from the global so that the type checker needs no Node.js types.
const NodeBuffer = (globalThis as unknown as { Buffer: { alloc(size: number): Uint8Array } })
  .Buffer;

/** Copies `bytes` into a Buffer. Buffer.alloc, unlike Buffer.from, never uses the shared pool. */
function toBuffer(bytes: Uint8Array): Uint8Array {
  const buffer = NodeBuffer.alloc(bytes.length);
  buffer.set(bytes);
  return buffer;
}

/** Copies `bytes` to byte offset 1 of a larger array, with guard bytes around, and returns that view. */
function oddOffsetView(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 3).fill(0xa5);
  backing.set(bytes, 1);
  return backing.subarray(1, 1 + bytes.length);
}

/** Records an input together with its whole backing memory, to detect any write. */
function snapshot(input: Uint8Array): () => void {
  const before = new Uint8Array(input.buffer.slice(0));
  return () => {
    expect(new Uint8Array(input.buffer)).toEqual(before);
  };
}

function expectPlainOwnArray(value: Uint8Array): void {
  expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
  expect(value.byteOffset).toBe(0);
  expect(value.buffer.byteLength).toBe(value.length);
}

type Variant = { name: string; wrap: (bytes: Uint8Array) => Uint8Array; nodeOnly: boolean };

const VARIANTS: Variant[] = [
  { name: 'Buffer', wrap: toBuffer, nodeOnly: true },
  { name: 'odd-offset view', wrap: oddOffsetView, nodeOnly: false },
];

const BUFFER_SKIP_REASON = 'Buffer exists only in Node.js';

afterAll(async () => {
  await setX25519Backend('auto');
});

it('Buffer really is a Node.js Buffer here', (context) => {
  context.skip(!RUNS_IN_NODE, BUFFER_SKIP_REASON);

  const buffer = toBuffer(new Uint8Array(3));

  expect(Object.getPrototypeOf(buffer)).not.toBe(Uint8Array.prototype);
  expect(buffer).toBeInstanceOf(Uint8Array);
});

describe.each(VARIANTS)('inputs as $name', ({ wrap, nodeOnly }) => {
  beforeEach((context) => {
    context.skip(nodeOnly && !RUNS_IN_NODE, BUFFER_SKIP_REASON);
  });

  describe.each(BACKENDS)('with X25519 on %s', (backend) => {
    it('getPublicKey, seal/open and imported keys', async () => {
      await useBackend(backend);
      const recipient = await generateKeyPair();
      const secretKey = wrap(recipient.secretKey);
      const publicKey = wrap(recipient.publicKey);
      const message = wrap(new TextEncoder().encode('hello'));
      const checks = [secretKey, publicKey, message].map(snapshot);

      const derived = await getPublicKey(secretKey);
      const sealed = await seal(message, publicKey);
      const sealedInput = wrap(sealed);
      checks.push(snapshot(sealedInput));
      const opened = await open(sealedInput, secretKey);
      const importedPair = await importKeyPair({ secretKey, publicKey });
      const importedPublicKey = await importPublicKey(publicKey);
      const sealedToImported = await seal(message, importedPublicKey);
      const openedWithImported = await open(sealedInput, importedPair);

      expect(derived).toEqual(recipient.publicKey);
      expect(new TextDecoder().decode(opened)).toBe('hello');
      expect(new TextDecoder().decode(openedWithImported)).toBe('hello');
      expect(await open(sealedToImported, secretKey)).toEqual(opened);
      const outputs = [derived, sealed, opened, sealedToImported, openedWithImported];
      outputs.push(importedPair.publicKey, importedPublicKey.publicKey);
      for (const output of outputs) {
        expectPlainOwnArray(output);
      }
      for (const check of checks) {
        check();
      }
    });
  });

  it('splitSecret, combineShares and recoverSecretKey', async () => {
    const { secretKey, publicKey } = await generateKeyPair();
    const secretInput = wrap(secretKey);
    const checkSecret = snapshot(secretInput);

    const shares = await splitSecret(secretInput, { shares: 3, threshold: 2 });
    const shareInputs = shares.map(wrap);
    const publicKeyInput = wrap(publicKey);
    const checks = [...shareInputs, publicKeyInput].map(snapshot);
    const combined = await combineShares(shareInputs.slice(1));
    const recovered = await recoverSecretKey(shareInputs.slice(0, 2), publicKeyInput);

    expect(combined).toEqual(secretKey);
    expect(recovered).toEqual(secretKey);
    for (const output of [...shares, combined, recovered]) {
      expectPlainOwnArray(output);
    }
    checkSecret();
    for (const check of checks) {
      check();
    }
  });

  it('hashShare and base64url', async () => {
    const bytes = Uint8Array.from({ length: 33 }, (_, i) => i * 7);
    const input = wrap(bytes);
    const check = snapshot(input);

    const digest = await hashShare(input);
    const encoded = encodeBase64Url(input);
    const decoded = decodeBase64Url(encoded, { length: 33 });

    expect(digest).toEqual(await hashShare(bytes));
    expect(encoded).toBe(encodeBase64Url(bytes));
    expect(decoded).toEqual(bytes);
    expectPlainOwnArray(digest);
    expectPlainOwnArray(decoded);
    check();
  });

  it('encryptWithPassphrase and decryptWithPassphrase', async () => {
    const message = wrap(new TextEncoder().encode('keystore'));
    const checks = [snapshot(message)];

    const envelope = await encryptWithPassphrase(message, 'correct horse', {
      scryptN: SCRYPT_MIN_N,
    });
    const envelopeInput = wrap(envelope);
    checks.push(snapshot(envelopeInput));
    const decrypted = await decryptWithPassphrase(envelopeInput, 'correct horse');

    expect(new TextDecoder().decode(decrypted)).toBe('keystore');
    expectPlainOwnArray(envelope);
    expectPlainOwnArray(decrypted);
    for (const check of checks) {
      check();
    }
  });
});

describe('outputs', () => {
  it('of generateKeyPair and createProvision are plain arrays', async () => {
    const keyPair = await generateKeyPair();
    const provision = await createProvision();

    for (const output of [
      keyPair.secretKey,
      keyPair.publicKey,
      provision.secretKey,
      provision.publicKey,
      provision.userKeyShare,
    ]) {
      expectPlainOwnArray(output);
    }
  });

  it('are not views of the caller input', async () => {
    const share = Uint8Array.from({ length: 33 }, (_, i) => i + 1);

    const decoded = decodeBase64Url(encodeBase64Url(share));
    decoded[0] = 0xff;

    expect(share[0]).toBe(1);
  });
});

/** Returns a 32-byte view whose buffer has been transferred away, as `postMessage` does. */
function detachedView(): Uint8Array {
  const buffer = new ArrayBuffer(40);
  const view = new Uint8Array(buffer, 4, 32);
  structuredClone(buffer, { transfer: [buffer] });
  return view;
}

/** Returns a fixed 32-byte view over a resizable buffer that has then shrunk to 8 bytes. */
function shrunkView(): Uint8Array {
  const ResizableArrayBuffer = ArrayBuffer as unknown as new (
    length: number,
    options: { maxByteLength: number },
  ) => ArrayBuffer & { resize(length: number): void };
  const buffer = new ResizableArrayBuffer(32, { maxByteLength: 64 });
  const view = new Uint8Array(buffer, 0, 32);
  buffer.resize(8);
  return view;
}

describe.each([
  ['detached', detachedView],
  ['shrunk', shrunkView],
])('a view over a %s buffer', (_name, unreadable) => {
  it.each([
    [
      'seal plaintext',
      'plaintext',
      async (keys: KeyPairLike) => seal(unreadable(), keys.publicKey),
    ],
    ['seal key', 'recipientPublicKey', async () => seal(new Uint8Array(1), unreadable())],
    ['open box', 'sealed', async (keys: KeyPairLike) => open(unreadable(), keys.secretKey)],
    [
      'open key',
      'recipientSecretKey',
      async (keys: KeyPairLike) => open(keys.sealed, unreadable()),
    ],
    ['getPublicKey', 'secretKey', async () => getPublicKey(unreadable())],
    ['hashShare', 'share', async () => hashShare(unreadable())],
    ['encodeBase64Url', 'bytes', async () => encodeBase64Url(unreadable())],
  ])('is rejected by %s', async (_call, name, call) => {
    const { secretKey, publicKey } = await generateKeyPair();
    const sealed = await seal(new Uint8Array(48), publicKey);

    await expect(call({ secretKey, publicKey, sealed })).rejects.toMatchObject({
      name: 'CryptoError',
      code: 'ERR_INVALID_TYPE',
      message: `${name}: cannot read the Uint8Array, because its buffer is detached or smaller than the view`,
    });
  });
});

interface KeyPairLike {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  sealed: Uint8Array;
}

/**
 * Copies `bytes` into a Uint8Array of another realm, whose constructor and prototype differ
 * from this realm's: a `node:vm` context in Node.js, an iframe in the browser.
 */
function otherRealmCopy(bytes: Uint8Array): Uint8Array {
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } })
    .process;
  let OtherUint8Array: typeof Uint8Array;
  if (nodeProcess?.getBuiltinModule !== undefined) {
    const vm = nodeProcess.getBuiltinModule('node:vm') as {
      runInNewContext(code: string): unknown;
    };
    OtherUint8Array = vm.runInNewContext('Uint8Array') as typeof Uint8Array;
  } else {
    const frame = document.createElement('iframe');
    document.body.append(frame);
    OtherUint8Array = (frame.contentWindow as unknown as typeof globalThis).Uint8Array;
  }

  const copy = new OtherUint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

it('accepts Uint8Arrays from another realm', async () => {
  const recipient = await generateKeyPair();
  const publicKey = otherRealmCopy(recipient.publicKey);
  const message = otherRealmCopy(new TextEncoder().encode('hello'));

  const sealed = await seal(message, publicKey);
  const opened = await open(otherRealmCopy(sealed), otherRealmCopy(recipient.secretKey));

  expect(publicKey).not.toBeInstanceOf(Uint8Array);
  expect(new TextDecoder().decode(opened)).toBe('hello');
  expect(encodeBase64Url(publicKey)).toBe(encodeBase64Url(recipient.publicKey));
});

/** What the key arguments of seal and open accept besides a Uint8Array. */
const IMPORTED_ALTERNATIVES: Record<string, string> = {
  'seal key': ' or an ImportedPublicKey from importPublicKey',
  'open key': ' or an ImportedKeyPair from importKeyPair',
};

describe.each([
  ['a Proxy of a Uint8Array', (length: number) => new Proxy(new Uint8Array(length), {})],
  ['an object inheriting from Uint8Array', () => Object.create(Uint8Array.prototype) as Uint8Array],
])('%s', (_name, fake) => {
  it.each([
    ['seal plaintext', 'plaintext', (keys: KeyPairLike) => seal(fake(5), keys.publicKey)],
    ['seal key', 'recipientPublicKey', () => seal(new Uint8Array(1), fake(32))],
    ['open box', 'sealed', (keys: KeyPairLike) => open(fake(48), keys.secretKey)],
    ['open key', 'recipientSecretKey', (keys: KeyPairLike) => open(keys.sealed, fake(32))],
    [
      'open public key',
      'recipientPublicKey',
      (keys: KeyPairLike) => open(keys.sealed, keys.secretKey, fake(32)),
    ],
    ['getPublicKey', 'secretKey', () => getPublicKey(fake(32))],
    ['hashShare', 'share', () => hashShare(fake(33))],
    ['encodeBase64Url', 'bytes', async () => encodeBase64Url(fake(3))],
    ['combineShares', 'shares[1]', (keys: KeyPairLike) => combineShares([keys.sealed, fake(48)])],
    [
      'encryptWithPassphrase',
      'plaintext',
      () => encryptWithPassphrase(fake(5), 'correct horse', { scryptN: SCRYPT_MIN_N }),
    ],
  ])('is rejected by %s', async (callName, name, call) => {
    const { secretKey, publicKey } = await generateKeyPair();
    const sealed = await seal(new Uint8Array(0), publicKey);
    // A non-zero last byte makes the 48-byte box pass as a share, with index 1.
    sealed[47] = 1;

    await expect(call({ secretKey, publicKey, sealed })).rejects.toMatchObject({
      name: 'CryptoError',
      code: 'ERR_INVALID_TYPE',
      message: `${name}: expected a Uint8Array${IMPORTED_ALTERNATIVES[callName] ?? ''}, received an object that inherits from Uint8Array without being one, such as a Proxy`,
    });
  });
});

/** A Uint8Array subclass whose `length` getter claims 32 bytes whatever its real length. */
class MisreportedLength extends Uint8Array {
  override get length(): number {
    return 32;
  }
}

it('checks a misreported key length', async () => {
  const short = new MisreportedLength(5);

  expect(short.length).toBe(32);
  await expect(seal(new Uint8Array(1), short)).rejects.toMatchObject({
    code: 'ERR_INVALID_LENGTH',
    message: 'recipientPublicKey: expected 32 bytes, received 5',
  });
  await expect(getPublicKey(short)).rejects.toMatchObject({
    code: 'ERR_INVALID_LENGTH',
    message: 'secretKey: expected 32 bytes, received 5',
  });
});
