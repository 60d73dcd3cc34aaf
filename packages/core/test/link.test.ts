import { encodeBase64Url, SHARE_LENGTH } from '@provisions/crypto';
import { describe, expect, it } from 'vitest';

import {
  ENCODED_SHARE_LENGTH,
  formatInvitationLink,
  InvitationLinkError,
  type InvitationLinkErrorReason,
  parseInvitationLink,
} from '../src/index.js';

const share = Uint8Array.from({ length: SHARE_LENGTH }, (_, index) => (index * 37 + 11) % 256);
const encodedShare = encodeBase64Url(share);

function expectLinkError(link: string, reason: InvitationLinkErrorReason): InvitationLinkError {
  let caught: unknown;
  try {
    parseInvitationLink(link);
  } catch (error) {
    caught = error;
  }

  expect(caught).toBeInstanceOf(InvitationLinkError);
  const error = caught as InvitationLinkError;
  expect(error.code).toBe('ERR_INVALID_INVITATION_LINK');
  expect(error.reason).toBe(reason);
  expect(error.message).not.toContain(encodedShare);
  expect(error.message).not.toContain(encodedShare.slice(0, 20));
  return error;
}

describe('formatInvitationLink', () => {
  it('puts the share in the fragment after /join', () => {
    const link = formatInvitationLink('https://app.example.com', share);

    expect(link).toBe(`https://app.example.com/join#provision:${encodedShare}`);
    expect(encodedShare).toHaveLength(ENCODED_SHARE_LENGTH);
  });

  it('drops trailing slashes and keeps a path', () => {
    expect(formatInvitationLink('https://app.example.com/', share)).toBe(
      `https://app.example.com/join#provision:${encodedShare}`,
    );
    expect(formatInvitationLink('http://127.0.0.1:8080/portal//', share)).toBe(
      `http://127.0.0.1:8080/portal/join#provision:${encodedShare}`,
    );
  });

  it('rejects a share of the wrong length', () => {
    expect(() => formatInvitationLink('https://app.example.com', share.subarray(1))).toThrow(
      /expected 33 bytes, received 32/,
    );
  });

  it.each([
    ['not a url'],
    ['ftp://app.example.com'],
    ['https://app.example.com/?next=1'],
    ['https://app.example.com/#top'],
    ['https://user:secret@app.example.com'],
  ])('rejects the app URL %s', (appUrl) => {
    expect(() => formatInvitationLink(appUrl, share)).toThrow(InvitationLinkError);
  });
});

describe('parseInvitationLink', () => {
  it('returns the app URL and the share', () => {
    const parsed = parseInvitationLink(`https://app.example.com/join#provision:${encodedShare}`);

    expect(parsed.appUrl).toBe('https://app.example.com');
    expect(parsed.userKeyShare).toEqual(share);
  });

  it('inverts formatInvitationLink for an app URL with a path', () => {
    const link = formatInvitationLink('http://127.0.0.1:8080/portal', share);
    const parsed = parseInvitationLink(link);

    expect(parsed.appUrl).toBe('http://127.0.0.1:8080/portal');
    expect(parsed.userKeyShare).toEqual(share);
  });

  it('ignores whitespace around the link', () => {
    const parsed = parseInvitationLink(
      `  https://app.example.com/join#provision:${encodedShare}\n`,
    );

    expect(parsed.userKeyShare).toEqual(share);
  });

  const base = 'https://app.example.com/join';
  const cases: [string, string, InvitationLinkErrorReason, RegExp][] = [
    ['empty text', '', 'not_a_url', /expected an http or https URL/],
    ['plain words', 'open the box', 'not_a_url', /expected an http or https URL/],
    [
      'another scheme',
      `ftp://app.example.com/join#provision:${encodedShare}`,
      'not_a_url',
      /http or https/,
    ],
    ['no fragment', base, 'missing_fragment', /"#provision:…" part is missing/],
    ['an empty fragment', `${base}#`, 'missing_fragment', /missing/],
    [
      'another prefix',
      `${base}#invite:${encodedShare}`,
      'wrong_prefix',
      /must start with "provision:"/,
    ],
    ['an upper-case prefix', `${base}#Provision:${encodedShare}`, 'wrong_prefix', /"provision:"/],
    ['no share', `${base}#provision:`, 'wrong_length', /must be 44 characters, received 0/],
    [
      'a cut share',
      `${base}#provision:${encodedShare.slice(0, 30)}`,
      'wrong_length',
      /received 30/,
    ],
    ['a longer share', `${base}#provision:${encodedShare}A`, 'wrong_length', /received 45/],
    ['a padded share', `${base}#provision:${encodedShare}=`, 'wrong_length', /received 45/],
    [
      'standard base64 characters',
      `${base}#provision:${encodedShare.slice(0, 42)}+/`,
      'invalid_characters',
      /outside base64url/,
    ],
    [
      'a percent-encoded character',
      `${base}#provision:${encodedShare.slice(0, 41)}%41`,
      'invalid_characters',
      /outside base64url/,
    ],
    [
      'another path',
      `https://app.example.com/invite#provision:${encodedShare}`,
      'wrong_path',
      /\/join/,
    ],
    [
      'a query string',
      `${base}?ref=mail#provision:${encodedShare}`,
      'wrong_path',
      /no query string/,
    ],
    [
      'credentials',
      `https://user:pw@app.example.com/join#provision:${encodedShare}`,
      'wrong_path',
      /credentials/,
    ],
  ];

  it.each(cases)('rejects %s', (_name, link, reason, message) => {
    const error = expectLinkError(link, reason);

    expect(error.message).toMatch(message);
  });

  it('never echoes the share of a damaged link', () => {
    const error = expectLinkError(`${base}#provision:${encodedShare.slice(0, 43)}`, 'wrong_length');

    expect(error.message).toContain('received 43');
    expect(error.message).not.toContain(encodedShare.slice(0, 43));
  });
});
