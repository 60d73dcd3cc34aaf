import {
  CryptoError,
  encodeBase64Url,
  generateKeyPair,
  importKeyPair,
  open,
} from '@provisions/crypto';
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

    const opened = await openInvitation(sealed, await importKeyPair(recipient), 'action-1');

    expect(opened).toEqual(box.secretKey);
  });

  it('rejects another key with one message that names the action', async () => {
    const recipient = await generateKeyPair();
    const other = await importKeyPair(await generateKeyPair());
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const attempt = openInvitation(sealed, other, 'action-2');

    await expect(attempt).rejects.toBeInstanceOf(RecipientError);
    await expect(attempt).rejects.toThrow('crypto action action-2 cannot be opened with this key');
  });

  it('rejects a truncated invitation', async () => {
    const recipient = await generateKeyPair();
    const box = await generateKeyPair();
    const sealed = await sealInvitation(box.secretKey, recipient.publicKey);

    const attempt = openInvitation(sealed.slice(0, 60), await importKeyPair(recipient), 'action-3');

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_INVITATION' });
  });

  it('opens many actions with one key pair', async () => {
    const recipient = await generateKeyPair();
    const boxes = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    const sealed = await Promise.all(
      boxes.map((box) => sealInvitation(box.secretKey, recipient.publicKey)),
    );
    const imported = await importKeyPair(recipient);

    const opened = await Promise.all(
      sealed.map((action, index) => openInvitation(action, imported, `action-${index}`)),
    );

    expect(opened).toEqual(boxes.map((box) => box.secretKey));
  });
});
