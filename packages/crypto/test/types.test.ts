// The type assertions here are checked by `tsc` (the package's typecheck script), not at run
// time. The runtime checks use the results where TypeScript 5.9's DOM library requires a
// plain ArrayBuffer (BufferSource, BlobPart).
import { describe, expect, expectTypeOf, it } from 'vitest';

import * as publicApi from '../src/index.js';
import { generateKeyPair, seal } from '../src/index.js';

type PlainBytes = Uint8Array<ArrayBuffer>;

describe('declared types', () => {
  it('return bytes over a plain ArrayBuffer', () => {
    expectTypeOf(publicApi.decodeBase64Url).returns.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.hashShare).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.encryptWithPassphrase).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.decryptWithPassphrase).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.seal).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.open).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.sealToMany).returns.resolves.toEqualTypeOf<PlainBytes[]>();
    expectTypeOf(publicApi.sealMany).returns.resolves.toEqualTypeOf<PlainBytes[]>();
    expectTypeOf(publicApi.splitSecret).returns.resolves.toEqualTypeOf<PlainBytes[]>();
    expectTypeOf(publicApi.combineShares).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.recoverSecretKey).returns.resolves.toEqualTypeOf<PlainBytes>();
    expectTypeOf(publicApi.getPublicKey).returns.resolves.toEqualTypeOf<PlainBytes>();
  });

  it('give plain byte fields to key pairs and provisions', () => {
    expectTypeOf<publicApi.KeyPair['secretKey']>().toEqualTypeOf<PlainBytes>();
    expectTypeOf<publicApi.KeyPair['publicKey']>().toEqualTypeOf<PlainBytes>();
    expectTypeOf<publicApi.Provision['secretKey']>().toEqualTypeOf<PlainBytes>();
    expectTypeOf<publicApi.Provision['publicKey']>().toEqualTypeOf<PlainBytes>();
    expectTypeOf<publicApi.Provision['userKeyShare']>().toEqualTypeOf<PlainBytes>();
  });

  it('let option fields be forwarded as undefined', async () => {
    // Optional parameters passed on as option fields, which are undefined when omitted.
    const decode = (length?: number, name?: string) =>
      publicApi.decodeBase64Url('AAAA', { length, name });
    const split = (shares?: number, threshold?: number) =>
      publicApi.splitSecret(new Uint8Array(32), { shares, threshold });
    const encrypt = (scryptN?: number) =>
      publicApi.encryptWithPassphrase(new Uint8Array(1), 'correct horse', { scryptN });

    expect(decode()).toHaveLength(3);
    expect(await split()).toHaveLength(2);
    // Byte 6 of the envelope header is log2 of the scrypt cost N, 17 by default.
    expect((await encrypt())[6]).toBe(17);
  });

  it('give constants their literal values', () => {
    expectTypeOf<typeof publicApi.PUBLIC_KEY_LENGTH>().toEqualTypeOf<32>();
    expectTypeOf<typeof publicApi.SECRET_KEY_LENGTH>().toEqualTypeOf<32>();
    expectTypeOf<typeof publicApi.SHARE_LENGTH>().toEqualTypeOf<33>();
    expectTypeOf<typeof publicApi.SHARE_HASH_LENGTH>().toEqualTypeOf<64>();
    expectTypeOf<typeof publicApi.SEAL_OVERHEAD>().toEqualTypeOf<48>();
    expectTypeOf<typeof publicApi.PASSPHRASE_ENVELOPE_OVERHEAD>().toEqualTypeOf<65>();
    expectTypeOf<typeof publicApi.SCRYPT_DEFAULT_N>().toEqualTypeOf<131_072>();
    expectTypeOf<typeof publicApi.SCRYPT_MIN_N>().toEqualTypeOf<16_384>();
    expectTypeOf<typeof publicApi.SCRYPT_MAX_N>().toEqualTypeOf<1_048_576>();
  });

  it('accept any Uint8Array as input', () => {
    expectTypeOf(publicApi.seal).parameter(0).toEqualTypeOf<Uint8Array>();
    expectTypeOf(publicApi.seal)
      .parameter(1)
      .toEqualTypeOf<Uint8Array | publicApi.ImportedPublicKey>();
    expectTypeOf(publicApi.encodeBase64Url).parameter(0).toEqualTypeOf<Uint8Array>();
  });

  it('accept imported keys only where they fit', async () => {
    const keyPair = await publicApi.generateKeyPair();
    const sealed = await publicApi.seal(new Uint8Array(1), keyPair.publicKey);
    const recipient = await publicApi.importKeyPair(keyPair);
    const to = await publicApi.importPublicKey(keyPair.publicKey);
    // A look-alike object is not an imported key: the classes have private fields.
    const lookAlike = { publicKey: keyPair.publicKey, destroy: () => undefined };

    expectTypeOf(recipient.publicKey).toEqualTypeOf<PlainBytes>();
    expectTypeOf(to.publicKey).toEqualTypeOf<PlainBytes>();
    expect(await publicApi.open(sealed, recipient)).toEqual(new Uint8Array(1));
    expect(await publicApi.sealMany([], to)).toEqual([]);
    expect(await publicApi.sealToMany(new Uint8Array(1), [])).toEqual([]);
    // @ts-expect-error: an imported key pair contains its public key.
    await expect(publicApi.open(sealed, recipient, keyPair.publicKey)).rejects.toThrow();
    // @ts-expect-error: seal takes an imported public key, not a key pair.
    await expect(publicApi.seal(new Uint8Array(1), recipient)).rejects.toThrow();
    // @ts-expect-error: open takes an imported key pair, not a public key.
    await expect(publicApi.open(sealed, to)).rejects.toThrow();
    // @ts-expect-error: not made by importKeyPair.
    await expect(publicApi.open(sealed, lookAlike)).rejects.toThrow();
  });
});

describe('sealed box as DOM input', () => {
  it('is a BufferSource, a BlobPart and an ArrayBuffer', async () => {
    const { publicKey } = await generateKeyPair();
    const sealed = await seal(new TextEncoder().encode('hello'), publicKey);

    const digest = await crypto.subtle.digest('SHA-256', sealed);
    const blob = new Blob([sealed]);
    const buffer: ArrayBuffer = sealed.buffer;

    expect(digest.byteLength).toBe(32);
    expect(blob.size).toBe(sealed.length);
    expect(buffer.byteLength).toBe(sealed.length);
  });
});
