import {
  CryptoError,
  decodeBase64Url,
  encodeBase64Url,
  type ImportedKeyPair,
  open,
  SECRET_KEY_LENGTH,
  seal,
} from '@provisions/crypto';

import { RecipientError } from './recipient-error.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Seals a box secret key for one recipient, as the value of a
 * `crypto.invitation_data` entry.
 *
 * The plaintext is the JSON `{"box_secret_key":"<43 characters>"}`.
 *
 * @param boxSecretKey - the 32-byte box secret key.
 * @param recipientPublicKey - the 32-byte identity or provision public key.
 * @returns the sealed box as unpadded base64url (at least 64 characters).
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` if `boxSecretKey`
 *   is not 32 bytes in a Uint8Array, or for a bad `recipientPublicKey`.
 */
export async function sealInvitation(
  boxSecretKey: Uint8Array,
  recipientPublicKey: Uint8Array,
): Promise<string> {
  if (!(boxSecretKey instanceof Uint8Array)) {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `boxSecretKey: expected a Uint8Array, received ${boxSecretKey === null ? 'null' : typeof boxSecretKey}`,
    );
  }
  if (boxSecretKey.length !== SECRET_KEY_LENGTH) {
    throw new CryptoError(
      'ERR_INVALID_LENGTH',
      `boxSecretKey: expected ${SECRET_KEY_LENGTH} bytes, received ${boxSecretKey.length}`,
    );
  }

  const plaintext = utf8Encoder.encode(
    JSON.stringify({ box_secret_key: encodeBase64Url(boxSecretKey) }),
  );

  try {
    return encodeBase64Url(await seal(plaintext, recipientPublicKey));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Opens the `encrypted` field of a crypto action and returns the box secret
 * key it carries.
 *
 * The plaintext must be UTF-8 JSON with exactly one field, `box_secret_key`,
 * holding 32 bytes as 43 base64url characters.
 *
 * @param encrypted - the sealed box as unpadded base64url.
 * @param recipient - the key pair the action is sealed to, imported once with
 *   `importKeyPair` for all the actions of one reader.
 * @param actionId - the crypto action id, for error messages.
 * @returns the 32-byte box secret key.
 * @throws RecipientError `ERR_INVALID_INVITATION` when the action cannot be
 *   opened with `recipient` or its content is not in that form.
 */
export async function openInvitation(
  encrypted: string,
  recipient: ImportedKeyPair,
  actionId: string,
): Promise<Uint8Array> {
  let plaintext: Uint8Array;
  try {
    plaintext = await open(decodeBase64Url(encrypted, { name: 'encrypted' }), recipient);
  } catch (cause) {
    throw new RecipientError(
      'ERR_INVALID_INVITATION',
      `crypto action ${actionId} cannot be opened with this key: it was sealed to another key or damaged`,
      { cause },
    );
  }

  try {
    return parseInvitationPlaintext(plaintext, actionId);
  } finally {
    plaintext.fill(0);
  }
}

function parseInvitationPlaintext(plaintext: Uint8Array, actionId: string): Uint8Array {
  const invalid = (cause?: unknown) =>
    new RecipientError(
      'ERR_INVALID_INVITATION',
      `crypto action ${actionId}: expected the JSON {"box_secret_key": "<43 base64url characters>"} and nothing else`,
      cause === undefined ? undefined : { cause },
    );

  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(plaintext));
  } catch (cause) {
    throw invalid(cause);
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid();
  }

  const keys = Object.keys(value);
  const encodedKey = (value as { box_secret_key?: unknown }).box_secret_key;
  if (keys.length !== 1 || typeof encodedKey !== 'string') {
    throw invalid();
  }

  try {
    return decodeBase64Url(encodedKey, { length: SECRET_KEY_LENGTH, name: 'box_secret_key' });
  } catch (cause) {
    throw invalid(cause);
  }
}
