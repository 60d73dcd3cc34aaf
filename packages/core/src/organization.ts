import {
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
  normalizeEmail,
  unwrap,
} from '@provisions/api';
import {
  createProvision,
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  type ProvisionPayload,
  PUBLIC_KEY_LENGTH,
  SHARE_LENGTH,
} from '@provisions/crypto';

import {
  checkEmailArgument,
  checkKeystore,
  checkOptions,
  checkOrganization,
} from './argument-checks.js';
import { findMessageProblem, sealTextMessage } from './box-message.js';
import { findBoxTitleProblem } from './box-title.js';
import { DeliveryError } from './delivery-error.js';
import { sealInvitation } from './invitation-data.js';
import { formatInvitationLink, normalizeAppUrl } from './link.js';
import { obtainOrganizationTokens } from './organization-token.js';
import type { ProvisionKeystore, ProvisionKeystoreEntry } from './provision-keystore.js';

/** Attempts of a box creation request when the network fails; retries reuse the Idempotency-Key. */
const BOX_CREATION_ATTEMPTS = 3;

/** An API client authenticated as an organization. */
export interface OrganizationConnection {
  /** Client that sends the organization's bearer token. */
  client: ApiClient;
  /** The organization's id, which is also its OAuth client id. */
  organizationId: string;
}

/** A box to create, with the text messages to post in it. */
export interface BoxContent {
  /**
   * Box title: 1 to 200 characters and no control character. Titles are not encrypted.
   * {@link findBoxTitleProblem} states the API's rules.
   */
  title: string;
  /**
   * Messages to post, in order; each is sealed to the box public key.
   * {@link findMessageProblem} states what a message may contain.
   */
  messages: string[];
}

/** Result of {@link sendBoxes} for one recipient. */
export interface SendBoxesResult {
  /** The recipient's normalized email address. */
  recipient: string;
  /** `identity` when the boxes were sealed to the person's identity key, `provision` otherwise. */
  delivery: 'identity' | 'provision';
  /** The provision used, for `provision` delivery. */
  provision?: {
    /** Provision public key, 43 base64url characters. */
    publicKey: string;
    /** Whether the provision already existed, so the recipient's earlier link opens these boxes too. */
    reused: boolean;
  };
  /** The invitation link to send to the recipient, for `provision` delivery. A secret. */
  link?: string;
  /** The boxes created, in the order given. */
  boxes: { id: string; title: string }[];
}

/**
 * Gets an organization token with OAuth 2.0 client credentials and returns a
 * client that sends it. The client requests a new token 30 seconds before the
 * current one expires by the client's clock. When the server rejects a request
 * sent with the token (401), as it does when its clock is ahead or its token
 * rows are gone, the client requests a new token once and sends that request
 * once more. Requests rejected together share one token request, and a 401 to
 * the second attempt is returned as it is.
 *
 * A renewal whose token request gets 401 `invalid_client` means that the
 * server no longer accepts the credentials, as when another server responds at
 * the same URL. The client keeps that `ApiError`, and every later request that
 * would carry the token rejects at once with it and is not sent, so no token is
 * requested per request. `isCredentialsRejection` identifies this error.
 * Connect again once the credentials or the server are fixed.
 *
 * @param options.baseUrl - the API server URL.
 * @param options.clientId - the organization id.
 * @param options.clientSecret - the organization's client secret. A secret: never log it.
 * @param options.fetch - the fetch implementation, `globalThis.fetch` by default.
 * @param options.timeoutMs - the time limit of each request in milliseconds, 30,000 by
 *   default; `0` or `Infinity` turns it off. See `createApiClient` of `@provisions/api`.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` if `options` is not an object.
 * @throws ApiArgumentError (code `ERR_INVALID_ARGUMENT` too) for a `baseUrl`, credentials,
 *   `fetch` or `timeoutMs` of the wrong type or form.
 * @throws ApiError 401 for wrong credentials; ApiTimeoutError when the token request gets no
 *   response within the time limit. A later request whose token renewal fails rejects with
 *   the error of the token request, not with the 401. After a renewal's 401
 *   `invalid_client`, every later request rejects with that same error.
 * @example
 * const organization = await connectOrganization({ baseUrl, clientId, clientSecret });
 */
export async function connectOrganization(options: {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  fetch?: ApiClientOptions['fetch'];
  timeoutMs?: ApiClientOptions['timeoutMs'];
}): Promise<OrganizationConnection> {
  checkOptions(options, 'baseUrl, clientId and clientSecret');
  const credentials = { clientId: options.clientId, clientSecret: options.clientSecret };
  const tokenClient = createApiClient({
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
  });

  const tokens = await obtainOrganizationTokens(tokenClient, credentials);
  const client = createApiClient({
    baseUrl: options.baseUrl,
    token: tokens.current,
    fetch: tokens.resendAfterRejection(options.fetch ?? globalThis.fetch),
    timeoutMs: options.timeoutMs,
  });

  return { client, organizationId: options.clientId };
}

/**
 * Creates boxes for one recipient, gives the recipient access to them, and
 * posts their messages.
 *
 * 1. Looks the recipient up (`GET /identities/public-keys`). With an identity
 *    public key, the box keys are sealed to it and no link is made. That key is
 *    used as the server returns it, so a dishonest server could give its own.
 * 2. Otherwise reuses the provision whose key share `keystore` holds if the
 *    server lists it as active, so the recipient's earlier link opens the new
 *    boxes too. With no usable entry, creates a provision and saves its user
 *    key share in `keystore` before the request that sends it to the server.
 * 3. For each box: generates its key pair, seals the box secret key to the
 *    recipient key, creates the box (with the new provision in the first
 *    request only, and an Idempotency-Key), then seals and posts each message.
 *
 * A failure after a box was created leaves that box with the messages posted
 * so far, and the error names the request that failed.
 *
 * Calls for the same recipient (after normalization) through the same keystore
 * object run one after another, so concurrent calls share one provision and one
 * link. Processes must not share a keystore, so `FileKeystore` locks its file.
 *
 * @param options.organization - from {@link connectOrganization}.
 * @param options.keystore - the organization's keystore of user key shares.
 * @param options.appUrl - the app URL the link points to.
 * @param options.recipient - the recipient's email address.
 * @param options.boxes - at least one box.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for options, an organization,
 *   a keystore or a recipient of the wrong type; InvitationLinkError `not_a_url`
 *   for an `appUrl` that is not an http or https URL without query, fragment or
 *   credentials; DeliveryError `ERR_INVALID_BOX` for invalid boxes, or
 *   `ERR_PROVISION_NOT_IN_KEYSTORE` when the server lists an active provision
 *   for the recipient whose share the keystore does not hold (revoke it first);
 *   EmailAddressError for an invalid address; ApiError when a request fails;
 *   ApiTimeoutError when a request gets no response within the time limit of
 *   the organization's client. A box creation request is sent again, with the
 *   same Idempotency-Key, only after a failure without any response, not after
 *   a timeout or an ApiArgumentError.
 * @example
 * const result = await sendBoxes({
 *   organization, keystore, appUrl: 'https://app.example.com',
 *   recipient: 'ada@example.com',
 *   boxes: [{ title: 'Contract', messages: ['Your contract is ready.'] }],
 * });
 * // result.link: 'https://app.example.com/join#provision:…'
 */
export async function sendBoxes(options: {
  organization: OrganizationConnection;
  keystore: ProvisionKeystore;
  appUrl: string;
  recipient: string;
  boxes: readonly BoxContent[];
}): Promise<SendBoxesResult> {
  checkOptions(options, 'organization, keystore, appUrl, recipient and boxes');
  checkOrganization(options.organization, 'organization');
  checkKeystore(options.keystore, 'keystore');
  normalizeAppUrl(options.appUrl);
  checkEmailArgument(options.recipient, 'recipient');
  validateBoxes(options.boxes);
  const recipient = normalizeEmail(options.recipient);

  return oneSendAtATime(options.keystore, recipient, () => sendToRecipient(options, recipient));
}

/**
 * Sends in progress, per keystore and normalized recipient. A send to a recipient
 * starts once the earlier sends to that recipient through the same keystore have
 * settled, so that it finds the provision they created instead of creating another.
 */
const sendsInProgress = new WeakMap<ProvisionKeystore, Map<string, Promise<unknown>>>();

function oneSendAtATime<T>(
  keystore: ProvisionKeystore,
  recipient: string,
  send: () => Promise<T>,
): Promise<T> {
  let sends = sendsInProgress.get(keystore);
  if (sends === undefined) {
    sends = new Map();
    sendsInProgress.set(keystore, sends);
  }

  const earlier = sends.get(recipient) ?? Promise.resolve();
  const result = earlier.then(send);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  sends.set(recipient, settled);
  void settled.then(() => {
    if (sends.get(recipient) === settled) {
      sends.delete(recipient);
    }
  });
  return result;
}

async function sendToRecipient(
  options: Parameters<typeof sendBoxes>[0],
  recipient: string,
): Promise<SendBoxesResult> {
  const { organization, keystore } = options;
  const lookup = unwrap(
    await organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: recipient } },
    }),
  );

  const target =
    lookup.identity_public_key === null
      ? await chooseProvision(organization, keystore, recipient, lookup.provisions, options.appUrl)
      : { publicKey: lookup.identity_public_key, newProvision: undefined };

  const recipientPublicKey = decodeBase64Url(target.publicKey, {
    length: PUBLIC_KEY_LENGTH,
    name: 'recipient public key',
  });

  const boxes: { id: string; title: string }[] = [];
  for (const [index, box] of options.boxes.entries()) {
    const provisions =
      index === 0 && target.newProvision !== undefined
        ? { [recipient]: target.newProvision }
        : undefined;
    const id = await createBoxWithMessages(organization, box, recipientPublicKey, provisions);
    boxes.push({ id, title: box.title });
  }

  if (!('link' in target)) {
    return { recipient, delivery: 'identity', boxes };
  }

  return {
    recipient,
    delivery: 'provision',
    provision: { publicKey: target.publicKey, reused: target.newProvision === undefined },
    link: target.link,
    boxes,
  };
}

/**
 * Revokes a provision of the organization, so its invitation link stops
 * working and a new provision can be created for that email.
 *
 * @param options.publicKey - the provision public key, 43 base64url characters.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for options or an organization
 *   of the wrong type; CryptoError for a public key that is not 43 base64url
 *   characters; ApiError 404 if the organization has no such active provision.
 */
export async function revokeProvision(options: {
  organization: OrganizationConnection;
  publicKey: string;
}): Promise<void> {
  checkOptions(options, 'organization and publicKey');
  const { organization, publicKey } = options;
  checkOrganization(organization, 'organization');
  decodeBase64Url(publicKey, { length: PUBLIC_KEY_LENGTH, name: 'provision public key' });

  const result = await organization.client.DELETE('/organizations/{oid}/provisions/{public_key}', {
    params: { path: { oid: organization.organizationId, public_key: publicKey } },
  });
  if (result.response.status !== 204) {
    unwrap(result);
  }
}

interface ProvisionTarget {
  publicKey: string;
  link: string;
  newProvision: ProvisionPayload | undefined;
}

async function chooseProvision(
  organization: OrganizationConnection,
  keystore: ProvisionKeystore,
  recipient: string,
  activeProvisions: readonly { public_key: string }[],
  appUrl: string,
): Promise<ProvisionTarget> {
  const entry = await keystore.get(recipient);
  if (
    entry !== undefined &&
    activeProvisions.some((active) => active.public_key === entry.public_key)
  ) {
    return {
      publicKey: entry.public_key,
      link: linkFromEntry(appUrl, entry),
      newProvision: undefined,
    };
  }

  const unknown = activeProvisions[0];
  if (unknown !== undefined) {
    throw new DeliveryError(
      'ERR_PROVISION_NOT_IN_KEYSTORE',
      `${recipient} has an active provision (public key ${unknown.public_key}) whose key share is not in this keystore, so its link cannot be rebuilt: revoke it (DELETE /organizations/${organization.organizationId}/provisions/${unknown.public_key}) and send again to create a new link`,
    );
  }

  const provision = await createProvision();
  const newEntry: ProvisionKeystoreEntry = {
    public_key: provision.payload.public_key,
    user_key_share: encodeBase64Url(provision.userKeyShare),
    created_at: new Date().toISOString(),
  };
  provision.secretKey.fill(0);

  const link = formatInvitationLink(appUrl, provision.userKeyShare);
  provision.userKeyShare.fill(0);

  // The share is saved before the server learns of the provision, so a crash
  // between the two never leaves the server with a provision whose link is lost.
  await keystore.put(recipient, newEntry);

  return { publicKey: newEntry.public_key, link, newProvision: provision.payload };
}

function linkFromEntry(appUrl: string, entry: ProvisionKeystoreEntry): string {
  const share = decodeBase64Url(entry.user_key_share, {
    length: SHARE_LENGTH,
    name: 'user_key_share',
  });
  try {
    return formatInvitationLink(appUrl, share);
  } finally {
    share.fill(0);
  }
}

async function createBoxWithMessages(
  organization: OrganizationConnection,
  box: BoxContent,
  recipientPublicKey: Uint8Array,
  provisions: Record<string, ProvisionPayload> | undefined,
): Promise<string> {
  const keyPair = await generateKeyPair();
  let invitation: string;
  try {
    invitation = await sealInvitation(keyPair.secretKey, recipientPublicKey);
  } finally {
    keyPair.secretKey.fill(0);
  }

  const body = {
    title: box.title,
    public_key: encodeBase64Url(keyPair.publicKey),
    crypto: {
      invitation_data: { [encodeBase64Url(recipientPublicKey)]: invitation },
      ...(provisions === undefined ? {} : { provisions }),
    },
  };
  const created = await postWithIdempotencyKey(organization, body);

  for (const message of box.messages) {
    const content = await sealTextMessage(message, keyPair.publicKey);
    unwrap(
      await organization.client.POST('/boxes/{id}/events', {
        params: { path: { id: created.id } },
        body: { type: 'msg.text', content },
      }),
    );
  }

  return created.id;
}

async function postWithIdempotencyKey(
  organization: OrganizationConnection,
  body: {
    title: string;
    public_key: string;
    crypto: {
      invitation_data: Record<string, string>;
      provisions?: Record<string, ProvisionPayload>;
    };
  },
): Promise<{ id: string }> {
  const idempotencyKey = crypto.randomUUID();

  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await organization.client.POST('/organizations/{oid}/boxes', {
        params: {
          path: { oid: organization.organizationId },
          header: { 'Idempotency-Key': idempotencyKey },
        },
        body,
      });
      return unwrap(result);
    } catch (error) {
      // The same Idempotency-Key makes a retry return the first box, not a second one.
      // An ApiTimeoutError is not retried, because a server that accepted the connection
      // and did not respond in time would most likely keep the caller waiting again.
      if (!isNetworkFailure(error) || attempt >= BOX_CREATION_ATTEMPTS) {
        throw error;
      }
    }
  }
}

/**
 * Tells whether `error` is fetch's failure to get any response: a `TypeError` without a
 * `code`, whose `cause` is the socket error, such as ECONNREFUSED. `ApiArgumentError`
 * (`ERR_INVALID_ARGUMENT`) and the argument errors of Node.js are `TypeError`s with a `code`,
 * and a second attempt would fail the same way.
 */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError && (error as { code?: unknown }).code === undefined;
}

function validateBoxes(boxes: readonly BoxContent[]): void {
  if (!Array.isArray(boxes) || boxes.length === 0) {
    throw new DeliveryError('ERR_INVALID_BOX', 'boxes: expected at least one box');
  }

  for (const [index, box] of boxes.entries()) {
    const titleProblem = findBoxTitleProblem(box?.title);
    if (titleProblem !== undefined) {
      throw new DeliveryError('ERR_INVALID_BOX', `boxes[${index}].title: ${titleProblem}`);
    }

    const messages: unknown = box.messages;
    if (!Array.isArray(messages)) {
      throw new DeliveryError(
        'ERR_INVALID_BOX',
        `boxes[${index}].messages: expected an array of strings`,
      );
    }

    for (const [messageIndex, message] of messages.entries()) {
      const messageProblem = findMessageProblem(message);
      if (messageProblem !== undefined) {
        throw new DeliveryError(
          'ERR_INVALID_BOX',
          `boxes[${index}].messages[${messageIndex}]: ${messageProblem}`,
        );
      }
    }
  }
}
