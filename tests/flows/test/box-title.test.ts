import { findBoxTitleProblem, MemoryKeystore, sendBoxes } from '@provisions/core';
import { encodeBase64Url, generateKeyPair } from '@provisions/crypto';
import { describe, expect, it } from 'vitest';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** Titles at the edges of the `BoxCreation.title` schema of the OpenAPI description. */
const titles: [string, string][] = [
  ['a plain title', 'Signed contract'],
  ['spaces around the text', '  Padded  '],
  ['200 code points', 'é'.repeat(200)],
  ['200 emoji, 400 UTF-16 code units', '😀'.repeat(200)],
  ['201 code points', 'x'.repeat(201)],
  ['an empty title', ''],
  ['white space only', ' \u00a0\u3000'],
  ['a byte order mark only', '\ufeff'],
  ['a zero width space only', '\u200b'],
  ['a line feed', 'Line\nbreak'],
  ['a carriage return', 'Line\rbreak'],
  ['a tab', 'Tab\there'],
  ['a NUL', 'Nul\u0000'],
  ['DEL', 'Del\u007f'],
  ['a C1 control character', 'Next\u0085line'],
  ['a line separator after text', 'Text\u2028more'],
  ['a line separator first', '\u2028Text'],
  ['a paragraph separator after white space', ' \u2029Text'],
  ['an unpaired high surrogate', 'Half \ud83d'],
  ['an unpaired low surrogate', '\ude00 half'],
];

describe('findBoxTitleProblem', () => {
  it.each(titles)('agrees with the server on %s', async (_name, title) => {
    const { publicKey } = await generateKeyPair();

    const { response } = await fixture.organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: fixture.organization.organizationId } },
      body: { title, public_key: encodeBase64Url(publicKey) },
    });

    expect([201, 400]).toContain(response.status);
    expect(findBoxTitleProblem(title) === undefined).toBe(response.status === 201);
  });
});

describe('sendBoxes with a title the server rejects', () => {
  it.each([
    [
      'a line feed',
      'Line\nbreak',
      /boxes\[0\]\.title: contains U\+000A \(line feed\) at character 5/,
    ],
    ['a tab', 'Tab\there', /boxes\[0\]\.title: contains U\+0009 \(tab\) at character 4/],
    ['an unpaired surrogate', 'Half \ud83d', /boxes\[0\]\.title: contains an unpaired/],
  ])('rejects %s before any request', async (_name, title, message) => {
    const keystore = new MemoryKeystore();

    const attempt = sendBoxes({
      organization: fixture.organization,
      keystore,
      appUrl: fixture.server.url,
      recipient: 'title@example.com',
      boxes: [{ title, messages: ['hello'] }],
    });

    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
    expect(await keystore.get('title@example.com')).toBeUndefined();
  });

  it('rejects a message with an unpaired surrogate', async () => {
    const attempt = sendBoxes({
      organization: fixture.organization,
      keystore: new MemoryKeystore(),
      appUrl: fixture.server.url,
      recipient: 'title@example.com',
      boxes: [{ title: 'Box', messages: ['fine', 'broken \ud83d'] }],
    });

    await expect(attempt).rejects.toThrow(/boxes\[0\]\.messages\[1\]: contains an unpaired/);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_INVALID_BOX' });
  });
});
