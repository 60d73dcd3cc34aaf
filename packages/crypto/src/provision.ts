import { encodeBase64Url } from './base64url.js';
import { wipe } from './bytes.js';
import { hashShare } from './hash.js';
import { splitSecret } from './shares.js';
import { generateKeyPair } from './x25519.js';

/**
 * The provision creation object sent to the server, with the wire field names. All values
 * are unpadded base64url.
 */
export interface ProvisionPayload {
  /** Provision public key, 43 characters (32 bytes). */
  readonly public_key: string;
  /** The share that the server keeps, 44 characters (33 bytes). */
  readonly misakey_key_share: string;
  /** SHA-512 of the user key share, 86 characters (64 bytes). */
  readonly user_key_share_hash: string;
}

/** A new crypto provision, as returned by {@link createProvision}. */
export interface Provision {
  /** 32-byte provision public key; seal box secret keys to it. */
  readonly publicKey: Uint8Array<ArrayBuffer>;
  /** 32-byte provision secret key. Never send it to the server. */
  readonly secretKey: Uint8Array<ArrayBuffer>;
  /** 33-byte share for the person, carried by the invitation link. Never send it to the server. */
  readonly userKeyShare: Uint8Array<ArrayBuffer>;
  /** The creation object for the server. */
  readonly payload: ProvisionPayload;
}

/**
 * Creates a crypto provision: an X25519 key pair whose secret key is split into two shares,
 * both needed to rebuild it.
 *
 * The first share of the 2-of-2 split is the user key share, kept by the caller for the
 * invitation link. The second goes to the server as `misakey_key_share`, with the SHA-512 of
 * the user key share as `user_key_share_hash`, so the server can find the provision from
 * the link without ever seeing the user key share.
 *
 * @returns a frozen {@link Provision}; its `payload` has 43-, 44- and 86-character strings.
 * @throws CryptoError `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { createProvision } from '@provisions/crypto';
 *
 * const provision = await createProvision();
 * // send provision.payload to the server; put provision.userKeyShare in the link
 * ```
 */
export async function createProvision(): Promise<Provision> {
  const { secretKey, publicKey } = await generateKeyPair();
  const [userKeyShare, serverKeyShare] = await splitSecret(secretKey, { shares: 2, threshold: 2 });

  // splitSecret returns exactly `shares` arrays, so both are present.
  const userShare = userKeyShare as Uint8Array<ArrayBuffer>;
  const serverShare = serverKeyShare as Uint8Array<ArrayBuffer>;

  const payload: ProvisionPayload = Object.freeze({
    public_key: encodeBase64Url(publicKey),
    misakey_key_share: encodeBase64Url(serverShare),
    user_key_share_hash: encodeBase64Url(await hashShare(userShare)),
  });
  wipe(serverShare);

  return Object.freeze({ publicKey, secretKey, userKeyShare: userShare, payload });
}
