import { describe, expect, it } from 'vitest';
import {
  ApiArgumentError,
  EmailAddressError,
  type EmailAddressErrorReason,
  normalizeEmail,
} from '../src/index.js';

/** Returns the EmailAddressError that `normalizeEmail(input)` throws, failing if it returns. */
function rejection(input: string): EmailAddressError {
  try {
    const normalized = normalizeEmail(input);
    throw new Error(`normalizeEmail accepted ${JSON.stringify(input)} as ${normalized}`);
  } catch (error) {
    if (error instanceof EmailAddressError) {
      return error;
    }
    throw error;
  }
}

describe('normalizeEmail', () => {
  it.each([
    ['  Alice@Example.COM ', 'alice@example.com'],
    ['\tBOB.Smith+Tag@MAIL.example.org\n', 'bob.smith+tag@mail.example.org'],
    ['jörg@bücher.example', 'jörg@xn--bcher-kva.example'],
    ['Jörg@BÜCHER.example', 'jörg@xn--bcher-kva.example'],
    ['user@xn--bcher-kva.example', 'user@xn--bcher-kva.example'],
    ['user@ｅｘａｍｐｌｅ．ｃｏｍ', 'user@example.com'],
    ['user@faß.de', 'user@xn--fa-hia.de'],
    ["o'hara!#$%&*/=?^_`{|}~-@example.com", "o'hara!#$%&*/=?^_`{|}~-@example.com"],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('keeps a Unicode local part in NFC', () => {
    const normalized = normalizeEmail('jörg@bücher.example');
    const [localPart] = normalized.split('@');

    expect(localPart).toBe('j\u00f6rg');
  });

  it('gives NFD input the NFC result', () => {
    const decomposed = 'jo\u0308rg@bu\u0308cher.example';
    const composed = 'j\u00f6rg@b\u00fccher.example';

    expect(decomposed).not.toBe(composed);
    expect(normalizeEmail(decomposed)).toBe(normalizeEmail(composed));
    expect(normalizeEmail(decomposed)).toBe('j\u00f6rg@xn--bcher-kva.example');
  });

  it('keeps Unicode uppercase in local part', () => {
    expect(normalizeEmail('ÉLISE@example.com')).toBe('Élise@example.com');
  });

  it('treats the Kelvin sign as K, as NFC does', () => {
    // U+212A KELVIN SIGN has the canonical decomposition U+004B, so NFC turns it into ASCII K
    // before any lowercasing. The two spellings are one address under Unicode equivalence.
    expect(normalizeEmail('\u212Aelvin@example.com')).toBe('kelvin@example.com');
    expect(normalizeEmail('\u212Bngstr\u00F6m@example.com')).toBe('\u00C5ngstr\u00F6m@example.com');
  });

  it('does not fold compatibility look-alikes', () => {
    expect(normalizeEmail('\u017Fam@example.com')).toBe('\u017Fam@example.com');
    expect(normalizeEmail('\u017Fam@example.com')).not.toBe(normalizeEmail('sam@example.com'));
    expect(normalizeEmail('e\uFB00ect@example.com')).toBe('e\uFB00ect@example.com');
    expect(normalizeEmail('\u1E9Each@example.com')).toBe('\u1E9Each@example.com');
  });

  it('does not fold the Turkish dotted and dotless I', () => {
    expect(normalizeEmail('\u0130nci@example.com')).toBe('\u0130nci@example.com');
    expect(normalizeEmail('\u0131nci@example.com')).toBe('\u0131nci@example.com');
    expect(normalizeEmail('\u0130nci@example.com')).not.toBe(normalizeEmail('Inci@example.com'));
  });

  it('accepts the maximum lengths', () => {
    const localPart = 'a'.repeat(64);
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;

    expect(normalizeEmail(`${localPart}@${domain}`)).toHaveLength(254);
    expect(normalizeEmail(`${'é'.repeat(32)}@example.com`)).toBe(`${'é'.repeat(32)}@example.com`);
  });

  it('throws TypeError for non-string input', () => {
    expect(() => normalizeEmail(42 as unknown as string)).toThrow(TypeError);
    expect(() => normalizeEmail(42 as unknown as string)).toThrow(
      'email address must be a string, received number',
    );
  });

  it('gives a non-string input a code', () => {
    const normalize = () => normalizeEmail(null as unknown as string);

    expect(normalize).toThrow(ApiArgumentError);
    expect(normalize).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(normalize).toThrow('email address must be a string, received null');
  });
});

describe('normalizeEmail rejections', () => {
  const cases: [string, EmailAddressErrorReason, string][] = [
    ['   ', 'empty', 'invalid email address: it is empty; expected local-part@domain'],
    ['a\uD800b@example.com', 'invalid-unicode', 'contains a lone UTF-16 surrogate'],
    ['ali\u0007ce@example.com', 'control-character', 'the control character U+0007'],
    ['alice@exam\u0085ple.com', 'control-character', 'the control character U+0085'],
    ['alice.example.com', 'missing-at-sign', 'it has no "@"'],
    ['a@b@example.com', 'multiple-at-signs', 'it has 2 "@" signs; expected exactly one'],
    ['"a@b"@example.com', 'multiple-at-signs', 'it has 2 "@" signs'],
    ['@example.com', 'empty-local-part', 'nothing comes before the "@"'],
    ['ali ce@example.com', 'whitespace', 'the local part contains whitespace (U+0020)'],
    ['ali\u00A0ce@example.com', 'whitespace', 'the local part contains whitespace (U+00A0)'],
    ['ali\u3000ce@example.com', 'whitespace', 'the local part contains whitespace (U+3000)'],
    ['\u200Bzw@example.com', 'invisible-character', 'the invisible character U+200B'],
    ['ali\u00ADce@example.com', 'invisible-character', 'the invisible character U+00AD'],
    ['alice\u2060@example.com', 'invisible-character', 'the invisible character U+2060'],
    ['ali\u202Ece@example.com', 'invisible-character', 'the invisible character U+202E'],
    ['ali\uFE0Fce@example.com', 'invisible-character', 'the invisible character U+FE0F'],
    ['a\uFFF9b@example.com', 'invisible-character', 'the invisible character U+FFF9'],
    ['a\u{13430}b@example.com', 'invisible-character', 'the invisible character U+13430'],
    ['"alice"@example.com', 'special-character', `the local part contains '"'`],
    ['ali(ce@example.com', 'special-character', "the local part contains '('"],
    ['ali)ce@example.com', 'special-character', "the local part contains ')'"],
    ['ali,ce@example.com', 'special-character', "the local part contains ','"],
    ['ali:ce@example.com', 'special-character', "the local part contains ':'"],
    ['ali;ce@example.com', 'special-character', "the local part contains ';'"],
    ['ali<ce@example.com', 'special-character', "the local part contains '<'"],
    ['ali>ce@example.com', 'special-character', "the local part contains '>'"],
    ['ali[ce@example.com', 'special-character', "the local part contains '['"],
    ['ali\\ce@example.com', 'special-character', "the local part contains '\\'"],
    ['ali]ce@example.com', 'special-character', "the local part contains ']'"],
    [
      `${'a'.repeat(65)}@example.com`,
      'local-part-too-long',
      'is 65 octets in UTF-8; the maximum is 64',
    ],
    [`${'é'.repeat(33)}@example.com`, 'local-part-too-long', 'is 66 octets in UTF-8'],
    ['alice@', 'empty-domain', 'nothing comes after the "@"'],
    ['alice@exam ple.com', 'invalid-domain', 'a label holds a character UTS 46 disallows'],
    ['alice@under_score.com', 'invalid-domain', 'a label holds a character UTS 46 disallows'],
    ['alice@-example.com', 'invalid-domain', 'starts or ends with a hyphen'],
    ['alice@ab--cd.com', 'invalid-domain', 'has "--" in positions 3 and 4'],
    ['alice@xn--zz.com', 'invalid-domain', 'malformed punycode'],
    ['alice@[192.0.2.1]', 'invalid-domain', 'the domain is not a valid IDNA domain name'],
    ['alice@example.com.', 'invalid-domain', 'it has an empty label'],
    ['alice@example..com', 'invalid-domain', 'it has an empty label'],
    [`alice@${'a'.repeat(64)}.com`, 'invalid-domain', 'a label is 64 octets after conversion'],
    [
      `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(62)}`,
      'invalid-domain',
      'it is 254 octets after conversion; the maximum is 253',
    ],
    ['alice@localhost', 'domain-without-dot', 'the domain "localhost" has no dot'],
    ['alice@ＬＯＣＡＬＨＯＳＴ', 'domain-without-dot', 'the domain "localhost" has no dot'],
    ['ok@127.0.0.1', 'numeric-top-level-domain', 'the top-level label "1" of the domain'],
    ['ok@example.123', 'numeric-top-level-domain', 'the top-level label "123" of the domain'],
    ['ok@１２７.０.０.１', 'numeric-top-level-domain', 'the domain "127.0.0.1" is all digits'],
    [
      `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`,
      'too-long',
      'it is 255 octets after normalization; the maximum is 254',
    ],
  ];

  it.each(cases)('rejects %j as %s', (input, reason, message) => {
    const error = rejection(input);

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('EmailAddressError');
    expect(error.code).toBe('ERR_INVALID_EMAIL');
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(message);
  });

  it('states the numeric top-level rule', () => {
    const error = rejection('ok@127.0.0.1');

    expect(error.message).toBe(
      'invalid email address "ok@127.0.0.1": the top-level label "1" of the domain ' +
        '"127.0.0.1" is all digits, as in an IP address; expected a domain name such as ' +
        'example.com',
    );
  });

  it.each([
    ['ok@123.example', 'ok@123.example'],
    ['ok@1.2.3.example', 'ok@1.2.3.example'],
    ['ok@example.x1', 'ok@example.x1'],
    ['ok@example.1x', 'ok@example.1x'],
  ])('accepts digits in %j outside an all-digit top-level label', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  const dotRule = 'it must not start or end with a dot or contain two dots in a row';

  it.each([
    ['.r@example.com', 'starts with a dot'],
    ['..r@example.com', 'starts with a dot'],
    ['.@example.com', 'starts with a dot'],
    ['r.@example.com', 'ends with a dot'],
    ['first.last.@example.com', 'ends with a dot'],
    ['r..s@example.com', 'contains two dots in a row'],
    ['first...last@example.com', 'contains two dots in a row'],
    [' .R@Example.COM ', 'starts with a dot'],
    ['.jörg@bücher.example', 'starts with a dot'],
  ])('rejects %j because the local part %s', (input, problem) => {
    const error = rejection(input);

    expect(error.reason).toBe('misplaced-dot');
    expect(error.message).toContain(`the local part (before the "@") ${problem}`);
    expect(error.message).toContain(dotRule);
  });

  it('states the whole dot rule', () => {
    const error = rejection('.r@example.com');

    expect(error.message).toBe(
      'invalid email address ".r@example.com": the local part (before the "@") starts with ' +
        'a dot; it must not start or end with a dot or contain two dots in a row',
    );
  });

  it.each([
    ['r.s@example.com', 'r.s@example.com'],
    ['first.middle.last@example.com', 'first.middle.last@example.com'],
    ['R.S+Tag@Example.com', 'r.s+tag@example.com'],
    ['r+.tag@example.com', 'r+.tag@example.com'],
    ['j.ö.rg@bücher.example', 'j.ö.rg@xn--bcher-kva.example'],
    ['r.s@mail.xn--bcher-kva.example', 'r.s@mail.xn--bcher-kva.example'],
  ])('accepts single inner dots in %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('keeps a fullwidth full stop in the local part', () => {
    // Only U+002E is a dot in the RFC 5321 Dot-string. IDNA maps U+FF0E to "." in the
    // domain, but the local part keeps it as an ordinary character.
    expect(normalizeEmail('r\uFF0E@example.com')).toBe('r\uFF0E@example.com');
  });

  it('quotes address with invisible characters escaped', () => {
    const error = rejection(' ali\u0007ce@example.com ');

    expect(error.message).toBe(
      'invalid email address "ali\\u{7}ce@example.com": it contains the control character U+0007',
    );
  });

  it('shortens a long address in the message', () => {
    const error = rejection(`${'a'.repeat(300)}@example.com`);

    expect(error.message).toContain(`"${'a'.repeat(80)}…"`);
    expect(error.message).not.toContain('a'.repeat(81));
  });
});
