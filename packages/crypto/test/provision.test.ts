import { describe, expect, it } from 'vitest';

import { decodeBase64Url, encodeBase64Url } from '../src/base64url.js';
import { hashShare, SHARE_HASH_LENGTH } from '../src/hash.js';
import { createProvision } from '../src/provision.js';
import { combineShares, recoverSecretKey, SHARE_LENGTH } from '../src/shares.js';
import { getPublicKey, PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH } from '../src/x25519.js';

describe('createProvision', () => {
  it('returns keys and a share of the documented lengths', async () => {
    const provision = await createProvision();

    expect(provision.publicKey).toHaveLength(PUBLIC_KEY_LENGTH);
    expect(provision.secretKey).toHaveLength(SECRET_KEY_LENGTH);
    expect(provision.userKeyShare).toHaveLength(SHARE_LENGTH);
    expect(await getPublicKey(provision.secretKey)).toEqual(provision.publicKey);
  });

  it('encodes the payload as 43, 44 and 86 base64url characters', async () => {
    const { payload } = await createProvision();

    expect(Object.keys(payload).sort()).toEqual([
      'misakey_key_share',
      'public_key',
      'user_key_share_hash',
    ]);
    expect(payload.public_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.misakey_key_share).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(payload.user_key_share_hash).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  it('puts the public key and the user key share hash in the payload', async () => {
    const provision = await createProvision();

    expect(provision.payload.public_key).toBe(encodeBase64Url(provision.publicKey));
    expect(provision.payload.user_key_share_hash).toBe(
      encodeBase64Url(await hashShare(provision.userKeyShare)),
    );
  });

  it('splits the secret key between the user and the server', async () => {
    const provision = await createProvision();
    const serverShare = decodeBase64Url(provision.payload.misakey_key_share, {
      length: SHARE_LENGTH,
      name: 'misakey_key_share',
    });

    expect(serverShare).not.toEqual(provision.userKeyShare);
    expect(await combineShares([provision.userKeyShare, serverShare])).toEqual(provision.secretKey);
    expect(
      await recoverSecretKey([serverShare, provision.userKeyShare], provision.publicKey),
    ).toEqual(provision.secretKey);
  });

  it('sends no secret to the server', async () => {
    const provision = await createProvision();
    const payloadText = JSON.stringify(provision.payload);

    expect(payloadText).not.toContain(encodeBase64Url(provision.secretKey));
    expect(payloadText).not.toContain(encodeBase64Url(provision.userKeyShare));
    expect(decodeBase64Url(provision.payload.user_key_share_hash)).toHaveLength(SHARE_HASH_LENGTH);
  });

  it('creates a new key pair each time', async () => {
    const first = await createProvision();
    const second = await createProvision();

    expect(first.payload.public_key).not.toBe(second.payload.public_key);
    expect(first.payload.user_key_share_hash).not.toBe(second.payload.user_key_share_hash);
  });

  it('returns frozen objects', async () => {
    const provision = await createProvision();

    expect(Object.isFrozen(provision)).toBe(true);
    expect(Object.isFrozen(provision.payload)).toBe(true);
  });
});
