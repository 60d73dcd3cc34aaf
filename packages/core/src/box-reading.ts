import { type ApiClient, type CryptoAction, unwrap } from '@provisions/api';
import { encodeBase64Url, getPublicKey } from '@provisions/crypto';

import { openTextMessage } from './box-message.js';
import { openInvitation } from './invitation-data.js';
import { collectPages, PAGE_LIMIT } from './pagination.js';
import { RecipientError } from './recipient-error.js';

/** Boxes read at the same time by {@link readInvitedBoxes}. */
const BOX_READ_CONCURRENCY = 8;

/** A decrypted text message of a box. */
export interface ReceivedMessage {
  /** Event id. */
  id: string;
  /** The decrypted text. */
  text: string;
  /** RFC 3339 time the server received the message. */
  createdAt: string;
}

/** A message of a box that could not be read, and why. */
export interface UnreadableMessage {
  /** Event id. */
  id: string;
  /** The reason it could not be read, for a person to read. */
  reason: string;
}

/** A box the person joined, with its decrypted messages, oldest first. */
export interface ReceivedBox {
  /** Box id. */
  id: string;
  /** Box title; titles are not encrypted. */
  title: string;
  /** The box's `msg.text` events, decrypted. */
  messages: ReceivedMessage[];
  /**
   * Messages that failed to decrypt or decode: damaged, sealed to another key, or
   * not UTF-8. Any box member can post messages, so one bad message must not hide
   * the others; it is listed here instead.
   */
  unreadableMessages: UnreadableMessage[];
}

/**
 * Lists every crypto action addressed to the signed-in person and sealed to
 * `encryptionPublicKey`, following pagination, oldest first.
 *
 * @param client - a client signed in as the person.
 * @param encryptionPublicKey - the identity or provision public key, 43 base64url characters.
 * @throws ApiError from `@provisions/api` when a request fails.
 */
export async function listCryptoActions(
  client: ApiClient,
  encryptionPublicKey: string,
): Promise<CryptoAction[]> {
  return collectPages(async (cursor) => {
    const result = await client.GET('/crypto/actions', {
      params: { query: { encryption_public_key: encryptionPublicKey, cursor, limit: PAGE_LIMIT } },
    });
    return unwrap(result);
  }, 'crypto actions');
}

/**
 * Opens each invitation with `secretKey`, joins its box and decrypts the
 * box's messages. A box with several invitations is read once.
 *
 * Before joining, the box secret key from the invitation must give the box
 * public key that the server reports, so an invitation carrying another box's
 * key is rejected instead of read as this box.
 *
 * @param client - a client signed in as the person.
 * @param actions - crypto actions sealed to the public key of `secretKey`.
 * @param secretKey - the 32-byte identity or provision secret key.
 * @returns the boxes in the order of their first invitation.
 * @throws RecipientError `ERR_INVALID_INVITATION` or `ERR_BOX_KEY_MISMATCH`; ApiError
 *   when a request fails. A message that cannot be read is listed in the box's
 *   `unreadableMessages` instead.
 */
export async function readInvitedBoxes(
  client: ApiClient,
  actions: readonly CryptoAction[],
  secretKey: Uint8Array,
): Promise<ReceivedBox[]> {
  const firstActions: CryptoAction[] = [];
  const seenBoxIds = new Set<string>();
  for (const action of actions) {
    if (!seenBoxIds.has(action.box_id)) {
      seenBoxIds.add(action.box_id);
      firstActions.push(action);
    }
  }

  // Boxes are read BOX_READ_CONCURRENCY at a time: each needs three requests,
  // so reading one after the other makes a link with many boxes slow to open.
  const boxes: ReceivedBox[] = new Array(firstActions.length);
  let next = 0;
  let failure: { error: unknown } | undefined;

  const worker = async (): Promise<void> => {
    while (next < firstActions.length && failure === undefined) {
      const index = next;
      next += 1;
      const action = firstActions[index] as CryptoAction;
      try {
        const boxSecretKey = await openInvitation(action.encrypted, secretKey, action.id);
        try {
          boxes[index] = await readBox(client, action.box_id, boxSecretKey);
        } finally {
          boxSecretKey.fill(0);
        }
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: BOX_READ_CONCURRENCY }, worker));

  if (failure !== undefined) {
    throw failure.error;
  }
  return boxes;
}

async function readBox(
  client: ApiClient,
  boxId: string,
  boxSecretKey: Uint8Array,
): Promise<ReceivedBox> {
  const box = unwrap(await client.GET('/boxes/{id}', { params: { path: { id: boxId } } }));

  const derivedPublicKey = encodeBase64Url(await getPublicKey(boxSecretKey));
  if (derivedPublicKey !== box.public_key) {
    throw new RecipientError(
      'ERR_BOX_KEY_MISMATCH',
      `box ${boxId}: the key in its invitation does not match the box public key the server reports, so the box was not opened; ask the sender to invite you again`,
    );
  }

  unwrap(
    await client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: { type: 'member.join' },
    }),
  );

  const events = await collectPages(async (cursor) => {
    const result = await client.GET('/boxes/{id}/events', {
      params: { path: { id: boxId }, query: { cursor, limit: PAGE_LIMIT } },
    });
    return unwrap(result);
  }, `events of box ${boxId}`);

  const messages: ReceivedMessage[] = [];
  const unreadableMessages: UnreadableMessage[] = [];
  for (const event of events) {
    if (event.type !== 'msg.text') {
      continue;
    }
    if (event.content === null) {
      unreadableMessages.push({ id: event.id, reason: `message ${event.id} has no content` });
      continue;
    }

    try {
      const text = await openTextMessage(event.content, box.public_key, boxSecretKey, event.id);
      messages.push({ id: event.id, text, createdAt: event.created_at });
    } catch (error) {
      if (!(error instanceof RecipientError)) {
        throw error;
      }
      unreadableMessages.push({ id: event.id, reason: error.message });
    }
  }

  return { id: box.id, title: box.title, messages, unreadableMessages };
}
