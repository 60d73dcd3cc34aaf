import { encodeBase64Url, generateKeyPair } from '@provisions/crypto';
import { describe, expect, it } from 'vitest';

import { MAX_MESSAGE_BYTES, openTextMessage, sealTextMessage } from '../src/box-message.js';
import { DeliveryError } from '../src/delivery-error.js';

describe('text messages', () => {
  it('round-trips UTF-8 text through the box key', async () => {
    const box = await generateKeyPair();
    const text = 'Grüße, 你好, 👋\nsecond line';

    const content = await sealTextMessage(text, box.publicKey);

    expect(content.public_key).toBe(encodeBase64Url(box.publicKey));
    expect(await openTextMessage(content, content.public_key, box.secretKey, 'event-1')).toBe(text);
  });

  it.each([
    ['a dot', '.'],
    ['a word between zero-width spaces', '\u200bok\u200b'],
    ['an emoji', '😀'],
  ])('seals %s', async (_case, text) => {
    const box = await generateKeyPair();

    const content = await sealTextMessage(text, box.publicKey);

    expect(await openTextMessage(content, content.public_key, box.secretKey, 'event-1')).toBe(text);
  });

  it('accepts messages up to the limit', async () => {
    const box = await generateKeyPair();

    const content = await sealTextMessage('x'.repeat(MAX_MESSAGE_BYTES), box.publicKey);

    expect(content.encrypted.length).toBeLessThanOrEqual(350_000);
    const tooLong = sealTextMessage('x'.repeat(MAX_MESSAGE_BYTES + 1), box.publicKey);
    await expect(tooLong).rejects.toBeInstanceOf(DeliveryError);
    await expect(tooLong).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
    await expect(tooLong).rejects.toThrow(`received ${MAX_MESSAGE_BYTES + 1}`);
  });

  it.each([
    [42, 'number'],
    [undefined, 'undefined'],
  ])('rejects the text %s', async (text, type) => {
    const box = await generateKeyPair();

    const attempt = sealTextMessage(text as unknown as string, box.publicKey);

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
    await expect(attempt).rejects.toThrow(`text: expected a string, received ${type}`);
  });

  it.each([
    ['an empty text', '', 'text: expected a non-empty string'],
    [
      'an unpaired surrogate',
      'a\ud800b',
      'text: contains an unpaired UTF-16 surrogate at character 2; expected well-formed Unicode text',
    ],
    [
      'white space only',
      ' \n\t',
      'text: expected a non-empty string with a character that is not white space',
    ],
    [
      'two byte order marks',
      '\ufeff\ufeff',
      // JavaScript counts U+FEFF as white space.
      'text: expected a non-empty string with a character that is not white space',
    ],
    [
      'a zero-width space and a space',
      ' \u200b',
      'text: expected a visible character, received only white space and invisible characters such as U+200B',
    ],
  ])('rejects %s as sendBoxes does', async (_case, text, message) => {
    const box = await generateKeyPair();

    const attempt = sealTextMessage(text, box.publicKey);

    await expect(attempt).rejects.toBeInstanceOf(DeliveryError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
    await expect(attempt).rejects.toThrow(message);
  });

  it('rejects a message that names another box key', async () => {
    const box = await generateKeyPair();
    const other = await generateKeyPair();
    const content = await sealTextMessage('hello', box.publicKey);

    const attempt = openTextMessage(
      content,
      encodeBase64Url(other.publicKey),
      box.secretKey,
      'event-2',
    );

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
    await expect(attempt).rejects.toThrow('message event-2 is sealed to another public key');
  });

  it('rejects a message that does not open with the box key', async () => {
    const box = await generateKeyPair();
    const other = await generateKeyPair();
    const content = await sealTextMessage('hello', other.publicKey);

    const attempt = openTextMessage(content, content.public_key, box.secretKey, 'event-3');

    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
  });
});
