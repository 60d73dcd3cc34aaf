import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { HttpProblem } from '../errors/http-problem.js';
import { ACCESS_TOKEN_CACHE_ENTRIES } from '../limits.js';
import type { AccessTokenOwner } from '../store/access-token-store.js';
import type { Store } from '../store/store.js';
import type { Principal } from './principal.js';
import { hashSecret } from './secret-token.js';

const BEARER_PREFIX = /^Bearer +/i;

/**
 * Adds `request.principal` and an `onRequest` hook that authenticates every route
 * whose `config.access` is not `public`. It runs before the body is read, so a
 * caller without a valid token never gets the body parsed or validated.
 *
 * Every response of such a route gets `Cache-Control: no-store`, because it may contain
 * the caller's data. This hook sets it on success, and `sendProblem` on every error,
 * also on one raised before this hook runs.
 *
 * A missing `Authorization: Bearer` header, or an unknown or expired token, is a
 * 401 with `WWW-Authenticate: Bearer`. A token of the other kind of principal
 * (a person on an organization operation or the reverse) is a 403.
 *
 * The owners of the last {@link ACCESS_TOKEN_CACHE_ENTRIES} tokens found in the
 * database are kept in memory, which spares a database read on most requests. The cache
 * stays exact with several server processes on one database, because a token's row never
 * changes once it is written. No operation revokes a token, changes its owner or changes
 * an identity's email. A row is deleted only after its token expired, and expiry is checked
 * on every request. Unknown tokens are not kept, so guessing cannot fill the cache.
 */
export function installAuthentication(app: FastifyInstance, store: Store, clock: Clock): void {
  app.decorateRequest('principal', null);
  const owners = new LRUCache<string, AccessTokenOwner>({ max: ACCESS_TOKEN_CACHE_ENTRIES });

  // The hook calls done() instead of being async, which spares each request the promises
  // and microtask turns of async functions. A token found in the cache needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') {
      done();
      return;
    }
    reply.header('cache-control', 'no-store');

    const admit = (owner: AccessTokenOwner | undefined, nowMs: number): void => {
      let principal: Principal;
      try {
        principal = principalOf(owner, nowMs);
      } catch (error) {
        done(error as Error);
        return;
      }
      if (access !== 'any' && principal.kind !== access) {
        const expected = access === 'organization' ? 'an organization' : 'a signed-in person';
        done(new HttpProblem('wrongPrincipal', `this operation needs the token of ${expected}`));
        return;
      }
      request.principal = principal;
      done();
    };

    let tokenHash: Buffer;
    try {
      tokenHash = hashSecret(bearerToken(request));
    } catch (error) {
      done(error as Error);
      return;
    }
    const key = tokenHash.toString('base64');
    const cached = owners.get(key);
    if (cached !== undefined) {
      const nowMs = clock().getTime();
      if (cached.expires_at <= nowMs) {
        owners.delete(key);
      }
      admit(cached, nowMs);
      return;
    }
    store.accessTokens.findByHash(tokenHash).then((owner) => {
      if (owner !== undefined) {
        owners.set(key, owner);
      }
      admit(owner, clock().getTime());
    }, done);
  });
}

/**
 * Returns the token of the request's `Authorization: Bearer` header.
 *
 * @throws HttpProblem `unauthorized` when the header is missing, not a bearer token, or empty.
 */
function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined || !BEARER_PREFIX.test(header)) {
    throw new HttpProblem('unauthorized', 'send an access token as Authorization: Bearer <token>', {
      headers: { 'www-authenticate': 'Bearer realm="provisions"' },
    });
  }

  const token = header.replace(BEARER_PREFIX, '').trim();
  if (token === '') {
    throw invalidToken();
  }
  return token;
}

function principalOf(record: AccessTokenOwner | undefined, nowMs: number): Principal {
  if (record === undefined || record.expires_at <= nowMs) {
    throw invalidToken();
  }

  if (record.organization_id !== null) {
    return { kind: 'organization', organizationId: record.organization_id };
  }
  if (record.identity_id !== null && record.email !== null) {
    return { kind: 'identity', identityId: record.identity_id, email: record.email };
  }
  // The table's CHECK constraint makes every token name an organization or an
  // identity, and identities cannot be deleted while tokens reference them.
  throw new Error('access token names neither an organization nor an identity');
}

function invalidToken(): HttpProblem {
  return new HttpProblem('unauthorized', 'the access token is invalid or expired; get a new one', {
    headers: { 'www-authenticate': 'Bearer realm="provisions", error="invalid_token"' },
  });
}

/**
 * Returns the calling organization's id.
 *
 * @throws Error when the route was not registered with `access: 'organization'`.
 */
export function organizationIdOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind !== 'organization') {
    throw new Error(`route ${request.routeOptions.url} needs access 'organization'`);
  }
  return principal.organizationId;
}

/**
 * Returns the signed-in person's identity id and normalized email.
 *
 * @throws Error when the route was not registered with `access: 'identity'`.
 */
export function identityOf(request: FastifyRequest): { identityId: string; email: string } {
  const principal = request.principal;
  if (principal?.kind !== 'identity') {
    throw new Error(`route ${request.routeOptions.url} needs access 'identity'`);
  }
  return { identityId: principal.identityId, email: principal.email };
}
