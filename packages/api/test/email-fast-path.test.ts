import fc from 'fast-check';
import { toASCII } from 'tr46';
import { describe, expect, it } from 'vitest';

import { IDNA_OPTIONS, isLdhDomain } from '../src/email.js';

// Labels from an alphabet that makes the edge cases likely: hyphens at either end and in
// positions 3 and 4, "xn--" labels, upper case, lengths around 63, empty labels.
const label = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9-]{0,8}$/),
  fc.constantFrom('xn--', 'xn--bcher-kva', 'ab--c', 'a-', '-a', 'a--', 'XN--abc', ''),
  fc.integer({ min: 60, max: 66 }).map((length) => 'a'.repeat(length)),
);
const domain = fc.array(label, { minLength: 1, maxLength: 6 }).map((labels) => labels.join('.'));

describe('ASCII domain fast path', () => {
  it('takes only unchanged domains', () => {
    fc.assert(
      fc.property(domain, (candidate) => {
        if (isLdhDomain(candidate)) {
          expect(toASCII(candidate, IDNA_OPTIONS)).toBe(candidate.toLowerCase());
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('takes most plain domains', () => {
    for (const plain of ['example.com', 'Example.COM', 'mail-1.example.org', 'a.b.c.d.io']) {
      expect(isLdhDomain(plain), plain).toBe(true);
    }
  });

  it.each([
    ['a punycode label', 'xn--bcher-kva.example'],
    ['hyphens in positions 3 and 4', 'ab--cd.example'],
    ['a leading hyphen', '-a.example'],
    ['a trailing hyphen', 'a-.example'],
    ['an empty label', 'a..example'],
    ['a trailing dot', 'example.com.'],
    ['a 64-character label', `${'a'.repeat(64)}.example`],
    ['254 characters', `${'a.'.repeat(126)}ab`],
    ['a non-ASCII letter', 'bücher.example'],
    ['the Kelvin sign', '\u212Aelvin.example'],
    ['an underscore', 'a_b.example'],
  ])('leaves %s to toASCII', (_case, candidate) => {
    expect(isLdhDomain(candidate)).toBe(false);
  });
});
