import {
  type ApiClient,
  type CryptoAction,
  type Event,
  type JoinedBox,
  UnexpectedResponseError,
  unwrap,
} from '@provisions/api';
import {
  encodeBase64Url,
  getPublicKey,
  type ImportedKeyPair,
  importKeyPair,
} from '@provisions/crypto';

import { checkCryptoActionListing, checkInvitedBoxReading } from './argument-checks.js';
import { openTextMessage } from './box-message.js';
import { mapConcurrently } from './concurrency.js';
import { openInvitation } from './invitation-data.js';
import { CRYPTO_ACTION_PAGE_LIMIT, collectPages, cursorQuery, PAGE_LIMIT } from './pagination.js';
import { RecipientError } from './recipient-error.js';

/** Boxes per `POST /boxes/joins` request; the API maximum. */
const JOIN_BATCH_SIZE = 100;

/**
 * Join requests in flight at once. While the server handles one, the client opens
 * the invitations of the next, so neither side waits for the other.
 */
const JOIN_BATCHES_IN_FLIGHT = 3;

/** Invitations opened, or boxes decrypted, at once within one batch. */
const CRYPTO_CONCURRENCY = 16;

const CRYPTO_ACTION_LIST = {
  name: 'crypto actions',
  operation: { method: 'GET', path: '/crypto/actions' },
};
const EVENT_PAGE_OPERATION = { method: 'GET', path: '/boxes/{id}/events' };
const JOIN_OPERATION = { method: 'POST', path: '/boxes/joins' };

const BOX_KEY_MISMATCH_TYPE = 'urn:provisions:problem:box-key-mismatch';
const PUBLIC_KEY_POINTER = /^\/boxes\/(\d+)\/public_key$/;

/**
 * Sender of a message as the server recorded it, either the organization that created
 * the box or a person who is a member of it.
 */
export interface MessageSender {
  /** `organization` for the box's organization, `identity` for a person. */
  type: 'organization' | 'identity';
  /** Organization id or identity id. */
  id: string;
}

/** A decrypted text message of a box. */
export interface ReceivedMessage {
  /** Event id. */
  id: string;
  /** The decrypted text. */
  text: string;
  /** RFC 3339 time the server received the message. */
  createdAt: string;
  /**
   * Sender of the message. Any member may post to a box, so a message from a person is
   * not from the organization, whatever its text claims.
   */
  sender: MessageSender;
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
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for a client of the wrong type;
 *   CryptoError for a key that is not 43 base64url characters; ApiError from
 *   `@provisions/api` when a request fails.
 */
export async function listCryptoActions(
  client: ApiClient,
  encryptionPublicKey: string,
): Promise<CryptoAction[]> {
  checkCryptoActionListing(client, encryptionPublicKey);
  return collectPages(async (cursor) => {
    const result = await client.GET('/crypto/actions', {
      params: {
        query: {
          encryption_public_key: encryptionPublicKey,
          ...cursorQuery(cursor),
          limit: CRYPTO_ACTION_PAGE_LIMIT,
        },
      },
    });
    return unwrap(result);
  }, CRYPTO_ACTION_LIST);
}

/**
 * Opens each invitation with `secretKey`, joins its box and decrypts the
 * box's messages. A box with several invitations is read once.
 *
 * Boxes are joined with `POST /boxes/joins`, up to 100 per request and a few
 * requests at once. Each request carries the box public key derived from the
 * box secret key in the invitation. The server rejects a key that is not the
 * box's. The key of each returned box is checked again here, so an invitation
 * carrying another box's key is rejected even by a server that does not check.
 *
 * @param client - a client signed in as the person.
 * @param actions - crypto actions sealed to the public key of `secretKey`.
 * @param secretKey - the 32-byte identity or provision secret key.
 * @returns the boxes in the order of their first invitation. A message that cannot be read
 *   is listed in the box's `unreadableMessages` instead of raising an error.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for a client or actions of the
 *   wrong type, and CryptoError for a secret key that is not 32 bytes in a Uint8Array.
 * @throws RecipientError `ERR_INVALID_INVITATION` or `ERR_BOX_KEY_MISMATCH`.
 * @throws ApiError when a request fails, and UnexpectedResponseError when the server
 *   returns other boxes than requested.
 */
export async function readInvitedBoxes(
  client: ApiClient,
  actions: readonly CryptoAction[],
  secretKey: Uint8Array,
): Promise<ReceivedBox[]> {
  checkInvitedBoxReading(client, actions);
  const firstActions: CryptoAction[] = [];
  const seenBoxIds = new Set<string>();
  for (const action of actions) {
    if (!seenBoxIds.has(action.box_id)) {
      seenBoxIds.add(action.box_id);
      firstActions.push(action);
    }
  }

  const batches: CryptoAction[][] = [];
  for (let start = 0; start < firstActions.length; start += JOIN_BATCH_SIZE) {
    batches.push(firstActions.slice(start, start + JOIN_BATCH_SIZE));
  }

  // Imported once here, so that opening each invitation neither computes the public key
  // nor imports the secret key again.
  const recipient = await importKeyPair({ secretKey });
  try {
    const batchResults = await mapConcurrently(batches, JOIN_BATCHES_IN_FLIGHT, (batch) =>
      readBatch(client, batch, recipient),
    );
    return batchResults.flat();
  } finally {
    recipient.destroy();
  }
}

/** A box secret key from an invitation, and the box public key it gives. */
interface OpenedInvitation {
  boxSecretKey: Uint8Array;
  publicKey: string;
}

async function readBatch(
  client: ApiClient,
  actions: readonly CryptoAction[],
  recipient: ImportedKeyPair,
): Promise<ReceivedBox[]> {
  const secretKeys: Uint8Array[] = [];
  try {
    const invitations = await mapConcurrently(actions, CRYPTO_CONCURRENCY, async (action) => {
      const boxSecretKey = await openInvitation(action.encrypted, recipient, action.id);
      secretKeys.push(boxSecretKey);
      const publicKey = encodeBase64Url(await getPublicKey(boxSecretKey));
      return { boxSecretKey, publicKey };
    });

    const joined = await joinBoxes(client, actions, invitations);

    return await mapConcurrently(joined, CRYPTO_CONCURRENCY, (item, index) =>
      readJoinedBox(client, item, (invitations[index] as OpenedInvitation).boxSecretKey),
    );
  } finally {
    for (const boxSecretKey of secretKeys) {
      boxSecretKey.fill(0);
    }
  }
}

/**
 * Joins the boxes of one batch and checks that the server returned each requested
 * box, in order, with the public key derived from its invitation.
 */
async function joinBoxes(
  client: ApiClient,
  actions: readonly CryptoAction[],
  invitations: readonly OpenedInvitation[],
): Promise<JoinedBox[]> {
  const result = await client.POST('/boxes/joins', {
    body: {
      boxes: actions.map((action, index) => ({
        id: action.box_id,
        public_key: (invitations[index] as OpenedInvitation).publicKey,
      })),
    },
  });

  if (result.error?.type === BOX_KEY_MISMATCH_TYPE) {
    const pointer = result.error.errors?.[0]?.pointer ?? '';
    const index = PUBLIC_KEY_POINTER.exec(pointer)?.[1];
    const action = index === undefined ? undefined : actions[Number(index)];
    if (action !== undefined) {
      throw boxKeyMismatch(action.box_id);
    }
  }
  const { items } = unwrap(result);

  if (items.length !== actions.length) {
    throw new UnexpectedResponseError(
      JOIN_OPERATION,
      `expected ${actions.length} boxes in the response, received ${items.length}`,
    );
  }
  items.forEach((item, index) => {
    const action = actions[index] as CryptoAction;
    if (item.box.id !== action.box_id) {
      throw new UnexpectedResponseError(
        JOIN_OPERATION,
        `the server returned box ${item.box.id} where box ${action.box_id} was requested`,
      );
    }
    if (item.box.public_key !== (invitations[index] as OpenedInvitation).publicKey) {
      throw boxKeyMismatch(action.box_id);
    }
  });

  return items;
}

function boxKeyMismatch(boxId: string): RecipientError {
  return new RecipientError(
    'ERR_BOX_KEY_MISMATCH',
    `box ${boxId}: the key in its invitation does not match the box public key the server reports, so the box was not opened; ask the sender to invite you again`,
  );
}

/** Fetches the events after the first page when there are more, and decrypts the messages. */
async function readJoinedBox(
  client: ApiClient,
  joined: JoinedBox,
  boxSecretKey: Uint8Array,
): Promise<ReceivedBox> {
  const { box } = joined;
  const events: Event[] = await collectPages(
    async (cursor) => {
      const result = await client.GET('/boxes/{id}/events', {
        params: { path: { id: box.id }, query: { ...cursorQuery(cursor), limit: PAGE_LIMIT } },
      });
      return unwrap(result);
    },
    { name: `events of box ${box.id}`, operation: EVENT_PAGE_OPERATION },
    { items: joined.events, next_cursor: joined.next_cursor },
  );

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
      messages.push({
        id: event.id,
        text,
        createdAt: event.created_at,
        sender: { type: event.sender.type, id: event.sender.id },
      });
    } catch (error) {
      if (!(error instanceof RecipientError)) {
        throw error;
      }
      unreadableMessages.push({ id: event.id, reason: error.message });
    }
  }

  return { id: box.id, title: box.title, messages, unreadableMessages };
}
