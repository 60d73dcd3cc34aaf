/**
 * Why `normalizeEmail()` rejected an address:
 * - `empty`: nothing is left after trimming whitespace;
 * - `invalid-unicode`: the string contains a lone UTF-16 surrogate;
 * - `control-character`: a control character (Unicode category Cc) appears anywhere;
 * - `missing-at-sign` / `multiple-at-signs`: the address needs exactly one `@`;
 * - `empty-local-part`: nothing comes before the `@`;
 * - `whitespace`: the local part contains whitespace;
 * - `invisible-character`: the local part contains a default-ignorable code point or a
 *   format character (category Cf), which render as nothing, such as U+200B zero-width
 *   space or U+00AD soft hyphen;
 * - `special-character`: the local part contains one of `"(),:;<>[\]`;
 * - `misplaced-dot`: the local part starts or ends with a dot or contains two dots in a row,
 *   which RFC 5321 allows only inside a quoted string;
 * - `local-part-too-long`: the local part is over 64 octets in UTF-8;
 * - `empty-domain`: nothing comes after the `@`;
 * - `invalid-domain`: IDNA (UTS 46) conversion of the domain failed;
 * - `domain-without-dot`: the converted domain has a single label, such as `localhost`;
 * - `numeric-top-level-domain`: the last label of the converted domain is all digits, as in
 *   `127.0.0.1`;
 * - `too-long`: the normalized address is over 254 octets.
 */
export type EmailAddressErrorReason =
  | 'empty'
  | 'invalid-unicode'
  | 'control-character'
  | 'missing-at-sign'
  | 'multiple-at-signs'
  | 'empty-local-part'
  | 'whitespace'
  | 'invisible-character'
  | 'special-character'
  | 'misplaced-dot'
  | 'local-part-too-long'
  | 'empty-domain'
  | 'invalid-domain'
  | 'domain-without-dot'
  | 'numeric-top-level-domain'
  | 'too-long';

/**
 * An email address that `normalizeEmail()` cannot normalize. The message names what is wrong
 * and may quote the address (shortened), since an address is not a secret.
 */
export class EmailAddressError extends Error {
  override readonly name = 'EmailAddressError';

  /** Always `ERR_INVALID_EMAIL`. */
  readonly code = 'ERR_INVALID_EMAIL';

  /** The rule the address broke. */
  readonly reason: EmailAddressErrorReason;

  /**
   * @param reason - the rule the address broke.
   * @param message - what is wrong, for a person to read.
   */
  constructor(reason: EmailAddressErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
