import { scrypt, scryptAsync } from '@noble/hashes/scrypt.js';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it, vi } from 'vitest';

import { decryptWithPassphrase, encryptWithPassphrase } from '../src/passphrase.js';
import {
  PASSPHRASE_ENVELOPE_OVERHEAD,
  SCRYPT_DEFAULT_N,
  SCRYPT_MAX_N,
  SCRYPT_MIN_N,
} from '../src/passphrase-envelope.js';
import { rejectionOf } from './rejection.js';

// A pass-through spy, so tests can tell whether a key derivation ran.
vi.mock('@noble/hashes/scrypt.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('@noble/hashes/scrypt.js')>();
  return { ...original, scryptAsync: vi.fn(original.scryptAsync) };
});

// The lowest accepted cost keeps each key derivation near 0.1 s.
const FAST = { scryptN: SCRYPT_MIN_N };
const message = new TextEncoder().encode('user key shares');

beforeAll(async () => {
  await sodium.ready;
});

describe('encryptWithPassphrase and decryptWithPassphrase', () => {
  it('round-trips a message', async () => {
    const envelope = await encryptWithPassphrase(message, 'correct horse', FAST);

    expect(envelope).toHaveLength(message.length + PASSPHRASE_ENVELOPE_OVERHEAD);
    expect(await decryptWithPassphrase(envelope, 'correct horse')).toEqual(message);
  });

  it('round-trips an empty message', async () => {
    const envelope = await encryptWithPassphrase(new Uint8Array(0), 'correct horse', FAST);

    expect(envelope).toHaveLength(65);
    expect(await decryptWithPassphrase(envelope, 'correct horse')).toEqual(new Uint8Array(0));
  });

  it('uses N = 2^17 by default', async () => {
    const envelope = await encryptWithPassphrase(message, 'correct horse');

    expect(envelope[6]).toBe(Math.log2(SCRYPT_DEFAULT_N));
    expect(await decryptWithPassphrase(envelope, 'correct horse')).toEqual(message);
  });

  it('uses a fresh salt and nonce each time', async () => {
    const first = await encryptWithPassphrase(message, 'correct horse', FAST);
    const second = await encryptWithPassphrase(message, 'correct horse', FAST);

    expect(first.subarray(9, 25)).not.toEqual(second.subarray(9, 25));
    expect(first.subarray(25, 49)).not.toEqual(second.subarray(25, 49));
  });

  it('normalizes the passphrase to NFC', async () => {
    const envelope = await encryptWithPassphrase(message, 'caf\u00e9', FAST);

    expect(await decryptWithPassphrase(envelope, 'cafe\u0301')).toEqual(message);
  });

  it('rejects a wrong passphrase', async () => {
    const envelope = await encryptWithPassphrase(message, 'correct horse', FAST);
    vi.mocked(scryptAsync).mockClear();

    const error = await rejectionOf(decryptWithPassphrase(envelope, 'correct horsf'));

    expect(error.code).toBe('ERR_WRONG_PASSPHRASE');
    expect(error.message).toBe('decryption failed: wrong passphrase, or the envelope was modified');
    expect(scryptAsync).toHaveBeenCalledTimes(1);
  });

  it('follows the documented layout, readable with libsodium', async () => {
    const envelope = await encryptWithPassphrase(message, 'correct horse', FAST);

    expect(new TextDecoder().decode(envelope.subarray(0, 4))).toBe('PVPE');
    expect([...envelope.subarray(4, 9)]).toEqual([1, 1, 14, 8, 1]);
    const header = envelope.subarray(0, 49);
    const salt = envelope.subarray(9, 25);
    const nonce = envelope.subarray(25, 49);
    const key = scrypt(new TextEncoder().encode('correct horse'), salt, {
      N: 2 ** 14,
      r: 8,
      p: 1,
      dkLen: 32,
    });

    const opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      envelope.subarray(49),
      header,
      nonce,
      key,
    );

    expect(opened).toEqual(message);
  });
});

describe('passphrase input checks', () => {
  it.each([SCRYPT_MIN_N / 2, SCRYPT_MAX_N * 2, 3 * SCRYPT_MIN_N, 0, Number.NaN])(
    'rejects options.scryptN %s',
    async (scryptN) => {
      const error = await rejectionOf(encryptWithPassphrase(message, 'correct horse', { scryptN }));

      expect(error.code).toBe('ERR_INVALID_OPTION');
      expect(error.message).toBe(
        `options.scryptN: expected a power of two from 16384 (2^14) to 1048576 (2^20), received ${String(scryptN)}`,
      );
    },
  );

  it.each([
    ['16384', 'a string'],
    [true, 'a boolean'],
    [[16384], 'an array'],
  ])('rejects options.scryptN %o by its type', async (scryptN, received) => {
    const error = await rejectionOf(
      encryptWithPassphrase(message, 'correct horse', { scryptN: scryptN as unknown as number }),
    );

    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe(
      `options.scryptN: expected a power of two from 16384 (2^14) to 1048576 (2^20), received ${received}`,
    );
  });

  it('rejects an empty passphrase', async () => {
    const error = await rejectionOf(encryptWithPassphrase(message, '', FAST));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('passphrase: expected at least 1 character, received 0');
  });

  it('rejects a passphrase that is not a string', async () => {
    const error = await rejectionOf(
      encryptWithPassphrase(message, new Uint8Array(4) as unknown as string, FAST),
    );

    expect(error.code).toBe('ERR_INVALID_TYPE');
    expect(error.message).toBe('passphrase: expected a string, received an instance of Uint8Array');
  });

  it.each(['pass\ud800', 'pass\udfff', '\udc00pass', 'pass\udd11\ud83d'])(
    'rejects lone surrogates in %j',
    async (passphrase) => {
      const envelope = await encryptWithPassphrase(message, 'correct horse', FAST);
      vi.mocked(scryptAsync).mockClear();

      const errors = [
        await rejectionOf(encryptWithPassphrase(message, passphrase, FAST)),
        await rejectionOf(decryptWithPassphrase(envelope, passphrase)),
      ];

      for (const error of errors) {
        expect(error.code).toBe('ERR_INVALID_TYPE');
        expect(error.message).toBe(
          'passphrase: expected well-formed Unicode, received a string with a lone surrogate',
        );
      }
      expect(scryptAsync).not.toHaveBeenCalled();
    },
  );

  it('accepts a surrogate pair', async () => {
    const envelope = await encryptWithPassphrase(message, 'key \ud83d\udd11', FAST);

    expect(await decryptWithPassphrase(envelope, 'key \u{1f511}')).toEqual(message);
    await expect(decryptWithPassphrase(envelope, 'key \ufffd')).rejects.toMatchObject({
      code: 'ERR_WRONG_PASSPHRASE',
    });
  });

  // Before lone surrogates were rejected, TextEncoder turned each into U+FFFD (EF BF BD).
  it('opens an older lone-surrogate envelope with U+FFFD', async () => {
    const header = Uint8Array.of(0x50, 0x56, 0x50, 0x45, 1, 1, 14, 8, 1, ...new Uint8Array(40));
    const salt = header.subarray(9, 25);
    const nonce = header.subarray(25, 49);
    salt.set(sodium.randombytes_buf(16));
    nonce.set(sodium.randombytes_buf(24));
    const key = scrypt(new TextEncoder().encode('pass\ud800'), salt, {
      N: 2 ** 14,
      r: 8,
      p: 1,
      dkLen: 32,
    });
    const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      message,
      header,
      null,
      nonce,
      key,
    );
    const envelope = new Uint8Array([...header, ...ciphertext]);

    expect(await decryptWithPassphrase(envelope, 'pass\ufffd')).toEqual(message);
  });

  it('rejects an envelope shorter than 65 bytes', async () => {
    const envelope = await encryptWithPassphrase(new Uint8Array(0), 'correct horse', FAST);

    const error = await rejectionOf(decryptWithPassphrase(envelope.subarray(0, 64), 'x'));

    expect(error.code).toBe('ERR_INVALID_LENGTH');
    expect(error.message).toBe('envelope: expected at least 65 bytes, received 64');
  });

  it.each([
    [0, 0x51, 'envelope: not a passphrase envelope, the first 4 bytes are not "PVPE"'],
    [4, 2, 'envelope: unsupported format version 2, expected 1'],
    [5, 2, 'envelope: unsupported key derivation function 2, expected 1 (scrypt)'],
    [6, 13, 'envelope: scrypt N = 2^13 is outside the accepted range 2^14 to 2^20'],
    [6, 21, 'envelope: scrypt N = 2^21 is outside the accepted range 2^14 to 2^20'],
    [7, 16, 'envelope: scrypt r = 16 and p = 1, expected r = 8 and p = 1 in version 1'],
    [8, 2, 'envelope: scrypt r = 8 and p = 2, expected r = 8 and p = 1 in version 1'],
  ])('rejects byte %i set to %i before deriving a key', async (offset, value, expected) => {
    const envelope = await encryptWithPassphrase(message, 'correct horse', FAST);
    envelope[offset] = value;
    vi.mocked(scryptAsync).mockClear();

    const error = await rejectionOf(decryptWithPassphrase(envelope, 'correct horse'));

    expect(error.code).toBe('ERR_INVALID_ENVELOPE');
    expect(error.message).toBe(expected);
    expect(scryptAsync).not.toHaveBeenCalled();
  });
});
