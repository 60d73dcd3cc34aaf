import { EmailAddressError, normalizeEmail } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import { invalidEmailSentence } from '../web/src/email-error-message.js';

/** Returns the error that `normalizeEmail()` throws for `address`. */
function rejectionOf(address: string): EmailAddressError {
  try {
    normalizeEmail(address);
  } catch (error) {
    if (error instanceof EmailAddressError) {
      return error;
    }
    throw error;
  }
  throw new Error(`expected normalizeEmail() to reject ${address}, but it accepted it`);
}

describe('invalidEmailSentence', () => {
  it('keeps only the reason of a quoted address', () => {
    const sentence = invalidEmailSentence(rejectionOf('.x@example.org'));

    expect(sentence).toBe(
      'This is not a valid email address: the local part (before the "@") starts with a dot; it must not start or end with a dot or contain two dots in a row.',
    );
  });

  it('keeps only the reason of an empty address', () => {
    const sentence = invalidEmailSentence(rejectionOf('   '));

    expect(sentence).toBe(
      'This is not a valid email address: it is empty; expected local-part@domain.',
    );
  });

  it('finds the reason after an address containing a quote', () => {
    const sentence = invalidEmailSentence(rejectionOf('"a": b'));

    expect(sentence).toBe(
      'This is not a valid email address: it has no "@"; expected local-part@domain.',
    );
  });

  it.each([
    'ada@localhost',
    'ada@',
    '@example.org',
    'a@b@example.org',
    'a b@example.org',
    `${'a'.repeat(65)}@example.org`,
    'ada@-example.org',
  ])('says "invalid email address" once for %s', (address) => {
    const sentence = invalidEmailSentence(rejectionOf(address));

    expect(sentence).toMatch(/^This is not a valid email address: /);
    expect(sentence).not.toContain('invalid email address');
    expect(sentence).not.toContain(address);
  });

  it('keeps a message of another shape', () => {
    const error = new EmailAddressError('empty', 'the address is missing');

    expect(invalidEmailSentence(error)).toBe(
      'This is not a valid email address: the address is missing.',
    );
  });
});
