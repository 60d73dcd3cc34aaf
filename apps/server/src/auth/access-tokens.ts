import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import type { Principal } from './principal.js';
import { generateSecretToken, hashSecret } from './secret-token.js';

/** A newly issued bearer token, in the shape of the API's `AccessToken`. */
export interface IssuedAccessToken {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until it expires. */
  expires_in: number;
}

/**
 * Issues a bearer token for a principal: 32 random bytes as base64url, of which
 * only the SHA-256 is stored. Expired tokens of every principal are deleted on the
 * way. Call it inside a write transaction when the caller writes other rows too.
 */
export async function issueAccessToken(
  store: Store,
  clock: Clock,
  principal: Principal,
  ttlSeconds: number,
): Promise<IssuedAccessToken> {
  const now = clock().getTime();
  const token = generateSecretToken();

  await store.accessTokens.deleteExpired(now);
  await store.accessTokens.insert({
    token_hash: hashSecret(token),
    organization_id: principal.kind === 'organization' ? principal.organizationId : null,
    identity_id: principal.kind === 'identity' ? principal.identityId : null,
    expires_at: now + ttlSeconds * 1000,
  });

  return { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds };
}
