import { type ApiClient, normalizeEmail, unwrap } from '@provisions/api';
import {
  CryptoError,
  decodeBase64Url,
  encodeBase64Url,
  getPublicKey,
  hashShare,
  PUBLIC_KEY_LENGTH,
  recoverSecretKey,
  SHARE_LENGTH,
} from '@provisions/crypto';

import { checkApiClient, checkEmailArgument, checkOptions } from './argument-checks.js';
import { listCryptoActions, type ReceivedBox, readInvitedBoxes } from './box-reading.js';
import { checkRegisteredIdentityKey } from './identity.js';
import { parseInvitationLink } from './link.js';
import { ProvisionsError } from './provisions-error.js';
import { RecipientError } from './recipient-error.js';

const SIGN_IN_CODE = /^[0-9]{6}$/;

/** The boxes an invitation link opens. */
export interface RedeemedInvitation {
  /** Provision public key, 43 base64url characters. */
  provisionPublicKey: string;
  /** Every box invited to the provision, in the order of its invitations. */
  boxes: ReceivedBox[];
}

/** The boxes invited to a person's identity key. */
export interface IdentityBoxes {
  /** Identity public key, 43 base64url characters. */
  identityPublicKey: string;
  /** Every box invited to that key, in the order of its invitations. */
  boxes: ReceivedBox[];
}

/**
 * Asks the server to email a one-time sign-in code to `email`.
 *
 * The server's response is the same whether or not an account exists.
 *
 * @returns the RFC 3339 time the code expires.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for a client or email of the
 *   wrong type; EmailAddressError for an invalid address; ApiError when the
 *   request fails (429 when codes are requested too often).
 */
export async function requestEmailCode(
  client: ApiClient,
  email: string,
): Promise<{ expiresAt: string }> {
  checkApiClient(client, 'client');
  checkEmailArgument(email, 'email');
  const result = await client.POST('/auth/email-codes', { body: { email: normalizeEmail(email) } });
  const sent = unwrap(result);

  return { expiresAt: sent.expires_at };
}

/**
 * Exchanges an emailed code for the person's bearer token. The server creates
 * the account on first sign-in.
 *
 * @param code - the six digits from the email.
 * @returns the access token; pass it as the `token` of the clients that act
 *   for this person. A secret: never log it.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for a client or email of the
 *   wrong type, or `ERR_INVALID_CODE` if `code` is not six digits;
 *   EmailAddressError for an invalid address; ApiError 401 for a wrong, used or
 *   expired code.
 * @example
 * let token: string | undefined;
 * const client = createApiClient({ baseUrl, token: () => token });
 * await requestEmailCode(client, 'ada@example.com');
 * token = await signIn(client, 'ada@example.com', codeFromEmail);
 */
export async function signIn(client: ApiClient, email: string, code: string): Promise<string> {
  checkApiClient(client, 'client');
  checkEmailArgument(email, 'email');
  const normalizedEmail = normalizeEmail(email);
  if (typeof code !== 'string' || !SIGN_IN_CODE.test(code)) {
    throw new ProvisionsError(
      'ERR_INVALID_CODE',
      'invalid sign-in code: expected the 6 digits from the email',
    );
  }

  const session = unwrap(
    await client.POST('/auth/sessions', { body: { email: normalizedEmail, code } }),
  );

  return session.access_token;
}

/**
 * Opens every box that an invitation link gives access to.
 *
 * It parses the link, hashes the user key share and fetches the server's
 * share of the provision (`GET /crypto/provisions`). It rebuilds the provision
 * secret key and checks it against the provision public key. Then it opens
 * each crypto action sealed to that key, checks the box key, joins the box and
 * decrypts its messages.
 *
 * Crypto actions are not deleted, so the same link opens every box again
 * later, including boxes sent after this call.
 *
 * @param options.client - a client signed in as the person the link was sent to.
 * @param options.link - the invitation link.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for options or a client of the
 *   wrong type; InvitationLinkError for a damaged link; RecipientError
 *   `ERR_PROVISION_NOT_FOUND` when no provision for this link is addressed to
 *   the signed-in email (another person's link, a revoked or tampered one),
 *   `ERR_SHARE_MISMATCH`, `ERR_INVALID_INVITATION` or `ERR_BOX_KEY_MISMATCH`;
 *   ApiError when a request fails. Messages that cannot be read are listed in
 *   each box's `unreadableMessages`.
 * @example
 * const { boxes } = await redeemInvitation({ client, link });
 */
export async function redeemInvitation(options: {
  client: ApiClient;
  link: string;
}): Promise<RedeemedInvitation> {
  checkOptions(options, 'client and link');
  const { client } = options;
  checkApiClient(client, 'client');
  const { userKeyShare } = parseInvitationLink(options.link);
  const userKeyShareHash = encodeBase64Url(await hashShare(userKeyShare));

  const result = await client.GET('/crypto/provisions', {
    params: { query: { user_key_share_hash: userKeyShareHash } },
  });
  if (result.response.status === 404) {
    throw new RecipientError(
      'ERR_PROVISION_NOT_FOUND',
      'no provision for this invitation link is addressed to the signed-in email address: sign in with the address the invitation was sent to; if you did, the link was revoked or damaged, so ask the sender for a new one',
    );
  }
  const provision = unwrap(result);

  const serverShare = decodeBase64Url(provision.misakey_key_share, {
    length: SHARE_LENGTH,
    name: 'misakey_key_share',
  });
  const publicKey = decodeBase64Url(provision.public_key, {
    length: PUBLIC_KEY_LENGTH,
    name: 'public_key',
  });

  const secretKey = await recoverProvisionKey(userKeyShare, serverShare, publicKey);
  try {
    const actions = await listCryptoActions(client, provision.public_key);
    const boxes = await readInvitedBoxes(client, actions, secretKey);

    return { provisionPublicKey: provision.public_key, boxes };
  } finally {
    secretKey.fill(0);
    userKeyShare.fill(0);
    serverShare.fill(0);
  }
}

/**
 * Opens every box invited to a person's identity key: joins each box and
 * decrypts its messages. This is how a person with an identity key reads the
 * boxes that organizations sent them directly, without a link. It first checks
 * that the key is the one registered for the person (`GET /identities/me`), so
 * a wrong key fails instead of opening no box.
 *
 * @param options.client - a client signed in as the person.
 * @param options.secretKey - the person's 32-byte identity secret key.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for options or a client of the
 *   wrong type; CryptoError for a secret key that is not 32 bytes in a
 *   Uint8Array; RecipientError `ERR_IDENTITY_KEY_MISMATCH` if the account has
 *   another identity public key or none, `ERR_INVALID_INVITATION` or
 *   `ERR_BOX_KEY_MISMATCH`; ApiError when a request fails. Messages that cannot
 *   be read are listed in each box's `unreadableMessages`.
 */
export async function readBoxesWithIdentityKey(options: {
  client: ApiClient;
  secretKey: Uint8Array;
}): Promise<IdentityBoxes> {
  checkOptions(options, 'client and secretKey');
  checkApiClient(options.client, 'client');
  const identityPublicKey = encodeBase64Url(await getPublicKey(options.secretKey));
  await checkRegisteredIdentityKey(options.client, identityPublicKey);

  const actions = await listCryptoActions(options.client, identityPublicKey);
  const boxes = await readInvitedBoxes(options.client, actions, options.secretKey);

  return { identityPublicKey, boxes };
}

async function recoverProvisionKey(
  userKeyShare: Uint8Array,
  serverShare: Uint8Array,
  publicKey: Uint8Array,
): Promise<Uint8Array> {
  try {
    return await recoverSecretKey([userKeyShare, serverShare], publicKey);
  } catch (cause) {
    if (cause instanceof CryptoError) {
      throw new RecipientError(
        'ERR_SHARE_MISMATCH',
        'the key share in this link does not rebuild the provision key: the link is damaged, so ask the sender for a new one',
        { cause },
      );
    }
    throw cause;
  }
}
