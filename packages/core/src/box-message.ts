import {
  decodeBase64Url,
  encodeBase64Url,
  open,
  PUBLIC_KEY_LENGTH,
  seal,
} from '@provisions/crypto';

import { findInvisibleTextProblem } from './box-title.js';
import { DeliveryError } from './delivery-error.js';
import { RecipientError } from './recipient-error.js';

/**
 * Largest message in UTF-8 bytes that fits the API's 350,000-character limit
 * on a sealed box: 350,000 base64url characters carry 262,500 bytes, and
 * sealing adds 48.
 */
export const MAX_MESSAGE_BYTES = 262_452;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const UNPAIRED_SURROGATE = /\p{Cs}/u;

/**
 * Checks a message that `sendBoxes` posts and returns what is wrong with it, or `undefined`
 * when it can be sent: a string of well-formed Unicode whose UTF-8 form is at most
 * {@link MAX_MESSAGE_BYTES} bytes, with a visible character, as a box title needs. An unpaired
 * UTF-16 surrogate is rejected because UTF-8 cannot encode it, so the recipient would read
 * U+FFFD in its place. A message of only white space or invisible characters (such as U+200B
 * or U+FEFF) is rejected because it shows as nothing.
 *
 * @param text - the message to check; any value.
 * @returns the problem without the text itself, such as
 *   `expected at most 262452 bytes of UTF-8, received 300000`.
 */
export function findMessageProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') {
    return `expected a non-empty string, received ${text === null ? 'null' : typeof text}`;
  }
  if (text === '') {
    return 'expected a non-empty string';
  }

  const surrogate = UNPAIRED_SURROGATE.exec(text);
  if (surrogate !== null) {
    const position = [...text.slice(0, surrogate.index)].length + 1;
    return `contains an unpaired UTF-16 surrogate at character ${position}; expected well-formed Unicode text`;
  }

  const bytes = utf8Encoder.encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    return `expected at most ${MAX_MESSAGE_BYTES} bytes of UTF-8, received ${bytes}`;
  }

  return findInvisibleTextProblem(text);
}

/** The `content` of a `msg.text` event. */
export interface TextMessageContent {
  /** The UTF-8 text sealed to the box public key, as unpadded base64url. */
  encrypted: string;
  /** The box public key, 43 base64url characters. */
  public_key: string;
}

/**
 * Seals a text message to a box public key, ready to post as a `msg.text` event.
 *
 * @param text - the message, which {@link findMessageProblem} accepts: a string of well-formed
 *   Unicode with a visible character, whose UTF-8 form is at most {@link MAX_MESSAGE_BYTES}
 *   bytes.
 * @param boxPublicKey - the 32-byte box public key.
 * @throws DeliveryError `ERR_INVALID_BOX` naming `text` if it is not a string, has no
 *   visible character, contains an unpaired UTF-16 surrogate or its UTF-8 form is longer
 *   than {@link MAX_MESSAGE_BYTES} bytes; CryptoError for a bad `boxPublicKey`.
 */
export async function sealTextMessage(
  text: string,
  boxPublicKey: Uint8Array,
): Promise<TextMessageContent> {
  if (typeof text !== 'string') {
    throw new DeliveryError('ERR_INVALID_BOX', `text: expected a string, received ${typeof text}`);
  }
  const problem = findMessageProblem(text);
  if (problem !== undefined) {
    throw new DeliveryError('ERR_INVALID_BOX', `text: ${problem}`);
  }

  const plaintext = utf8Encoder.encode(text);

  const sealed = await seal(plaintext, boxPublicKey);

  return { encrypted: encodeBase64Url(sealed), public_key: encodeBase64Url(boxPublicKey) };
}

/**
 * Opens a `msg.text` event with the box secret key and decodes its text.
 *
 * @param content - the event content.
 * @param boxPublicKey - the box public key as the server reports it, 43 characters.
 *   It must be the public key of `boxSecretKey`, which the caller has checked:
 *   opening uses it instead of computing the key again.
 * @param boxSecretKey - the 32-byte box secret key.
 * @param eventId - the event id, for error messages.
 * @returns the message text.
 * @throws RecipientError `ERR_INVALID_MESSAGE` if the message was sealed to
 *   another key, cannot be opened, or is not valid UTF-8.
 */
export async function openTextMessage(
  content: TextMessageContent,
  boxPublicKey: string,
  boxSecretKey: Uint8Array,
  eventId: string,
): Promise<string> {
  if (content.public_key !== boxPublicKey) {
    throw new RecipientError(
      'ERR_INVALID_MESSAGE',
      `message ${eventId} is sealed to another public key than its box's`,
    );
  }

  let plaintext: Uint8Array;
  try {
    plaintext = await open(
      decodeBase64Url(content.encrypted, { name: 'encrypted' }),
      boxSecretKey,
      decodeBase64Url(boxPublicKey, { length: PUBLIC_KEY_LENGTH, name: 'boxPublicKey' }),
    );
  } catch (cause) {
    throw new RecipientError(
      'ERR_INVALID_MESSAGE',
      `message ${eventId} cannot be opened with the box key: it is damaged or was sealed to another key`,
      { cause },
    );
  }

  try {
    return utf8Decoder.decode(plaintext);
  } catch (cause) {
    throw new RecipientError('ERR_INVALID_MESSAGE', `message ${eventId} is not valid UTF-8 text`, {
      cause,
    });
  } finally {
    plaintext.fill(0);
  }
}
