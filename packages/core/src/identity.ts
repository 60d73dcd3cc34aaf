import { type ApiClient, unwrap } from '@provisions/api';
import { encodeBase64Url, getPublicKey } from '@provisions/crypto';

import { checkApiClient, checkOptions } from './argument-checks.js';
import { RecipientError } from './recipient-error.js';

/**
 * Registers the public key of `secretKey` as the signed-in person's identity
 * public key, unless it is registered already. From then on organizations
 * seal boxes to it directly and send no invitation link.
 *
 * @param options.client - a client signed in as the person.
 * @param options.secretKey - the person's 32-byte identity secret key; it is
 *   never sent.
 * @returns the public key (43 base64url characters) and whether this call
 *   registered it.
 * @throws ProvisionsError `ERR_INVALID_ARGUMENT` for options or a client of
 *   the wrong type; CryptoError for a secret key that is not 32 bytes in a
 *   Uint8Array; RecipientError `ERR_IDENTITY_KEY_MISMATCH` if the account has
 *   another identity public key; ApiError when a request fails.
 */
export async function registerIdentityKey(options: {
  client: ApiClient;
  secretKey: Uint8Array;
}): Promise<{ publicKey: string; registered: boolean }> {
  checkOptions(options, 'client and secretKey');
  const { client } = options;
  checkApiClient(client, 'client');
  const publicKey = encodeBase64Url(await getPublicKey(options.secretKey));

  const identity = unwrap(await client.GET('/identities/me'));
  if (identity.public_key === publicKey) {
    return { publicKey, registered: false };
  }

  if (identity.public_key !== null) {
    throw new RecipientError(
      'ERR_IDENTITY_KEY_MISMATCH',
      `the account ${identity.email} already has another identity public key (${identity.public_key}); use its secret key`,
    );
  }

  unwrap(await client.PUT('/identities/me/public-key', { body: { public_key: publicKey } }));

  return { publicKey, registered: true };
}

/**
 * Checks that `publicKey` is the identity public key registered for the signed-in person
 * (`GET /identities/me`), because boxes are sealed to that key only.
 *
 * @throws RecipientError `ERR_IDENTITY_KEY_MISMATCH` if the account has another identity
 *   public key or none; ApiError when the request fails.
 */
export async function checkRegisteredIdentityKey(
  client: ApiClient,
  publicKey: string,
): Promise<void> {
  const identity = unwrap(await client.GET('/identities/me'));
  if (identity.public_key === publicKey) {
    return;
  }

  if (identity.public_key === null) {
    throw new RecipientError(
      'ERR_IDENTITY_KEY_MISMATCH',
      `the account ${identity.email} has no identity public key, so no box is sealed to ${publicKey}, the public key of this secret key; register it with registerIdentityKey first`,
    );
  }

  throw new RecipientError(
    'ERR_IDENTITY_KEY_MISMATCH',
    `the account ${identity.email} has another identity public key (${identity.public_key}), not ${publicKey}, the public key of this secret key; use the secret key of the registered one`,
  );
}
