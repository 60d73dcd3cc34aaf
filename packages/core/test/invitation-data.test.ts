import { CryptoError, encodeBase64Url, generateKeyPair, open } from '@provisions/crypto';
import { describe, expect, it } from 'vitest';

import { openInvitation, sealInvitation } from '../src/invitation-data.js';
import { RecipientError } from '../src/recipient-error.js';

describe('sealInvitation', () => {
  it('seals exactly {"box_secret_key": …} to the recipient key', async () => {
    const recipient = await generateKeyPair();
    const box = await generateKeyPair();

    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);
    const plaintext = new TextDecoder().decode(
      await open(Uint8Array.from(Buffer.from(sealed, 'base64url')), recipient.secretKey),
    );

    expect(plaintext).toBe(`{"box_secret_key":"${encodeBase64Url(box.secretKey)}"}`);
  });

  it.each([0, 31, 33, 64])('rejects a %i-byte box secret key', async (length) => {
    const recipient = await generateKeyPair();

    const attempt = sealInvitation(new Uint8Array(length), recipient.publicKey);

    await expect(attempt).rejects.toBeInstanceOf(CryptoError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_LENGTH' });
    await expect(attempt).rejects.toThrow(`boxSecretKey: expected 32 bytes, received ${length}`);
  });

  it('rejects a box secret key that is not a Uint8Array', async () => {
    const recipient = await generateKeyPair();

    const attempt = sealInvitation([1, 2, 3] as unknown as Uint8Array, recipient.publicKey);

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_TYPE' });
    await expect(attempt).rejects.toThrow('boxSecretKey: expected a Uint8Array, received object');
  });
});

describe('openInvitation', () => {
  it('returns the box secret key', async () => {
    const recipient = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    expect(await openInvitation(sealed, recipient.secretKey, 'action-1')).toEqual(box.secretKey);
  });

  it('rejects another key with one message that names the action', async () => {
    const recipient = await generateKeyPair();
    const other = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const attempt = openInvitation(sealed, other.secretKey, 'action-2');

    await expect(attempt).rejects.toBeInstanceOf(RecipientError);
    await expect(attempt).rejects.toThrow('crypto action action-2 cannot be opened with this key');
  });

  it('rejects a truncated invitation', async () => {
    const recipient = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const attempt = openInvitation(sealed.slice(0, 60), recipient.secretKey, 'action-3');

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_INVITATION' });
  });
});

describe('openInvitation with the recipient public key', () => {
  it('returns the box secret key', async () => {
    const recipient = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const opened = await openInvitation(
      sealed,
      recipient.secretKey,
      'action-4',
      recipient.publicKey,
    );

    expect(opened).toEqual(box.secretKey);
  });

  it('rejects a public key of another secret key', async () => {
    const recipient = await generateKeyPair();
    const other = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const attempt = openInvitation(sealed, recipient.secretKey, 'action-5', other.publicKey);

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_INVITATION' });
  });
});
