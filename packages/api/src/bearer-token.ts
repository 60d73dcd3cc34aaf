import type { Middleware } from 'openapi-fetch';
import { ApiArgumentError } from './argument-error.js';

/**
 * The bearer token of a client: a fixed string, or a function called before every request, so a
 * flow can sign in (or refresh its token) after the client was created. The function may return
 * a promise. A value of `undefined` or `''` sends the request without a token.
 */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

/**
 * Operations whose security requirements in the OpenAPI document do not name the bearer
 * scheme: they authenticate with client credentials or an email code, or need nothing (the
 * health check), so no bearer token is sent to them. A client test compares this list with
 * the document.
 */
const OPERATIONS_WITHOUT_BEARER_TOKEN: ReadonlySet<string> = new Set([
  'POST /oauth/token',
  'POST /auth/email-codes',
  'POST /auth/sessions',
  'GET /health',
]);

/** The `b64token` syntax of RFC 6750 section 2.1. */
const BEARER_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Creates an openapi-fetch middleware that adds `Authorization: Bearer <token>` to each request.
 *
 * The token is read from `token` on every request. The header is left out when the token is
 * `undefined` or `''`, when the request already carries an `Authorization` header, and for the
 * operations that take no bearer token (`POST /oauth/token`, `POST /auth/email-codes`,
 * `POST /auth/sessions` and `GET /health`).
 *
 * @param token - a string, or a function returning the current token.
 * @returns the middleware, for `client.use()`.
 * @throws ApiArgumentError (a `TypeError`, code `ERR_INVALID_ARGUMENT`) if `token` is neither a
 *   string nor a function, or if the token (checked here for a string, on each request for a
 *   function) is not in the RFC 6750 `b64token` syntax. The message gives the token's length,
 *   never its value.
 * @example
 * ```ts
 * client.use(createBearerTokenMiddleware(() => session?.access_token));
 * ```
 */
export function createBearerTokenMiddleware(token: TokenSource): Middleware {
  if (typeof token === 'string') {
    assertBearerToken(token);
  } else if (typeof token !== 'function') {
    throw new ApiArgumentError(`token must be a string or a function, received ${typeof token}`);
  }

  return {
    async onRequest({ request, schemaPath }) {
      if (OPERATIONS_WITHOUT_BEARER_TOKEN.has(`${request.method} ${schemaPath}`)) {
        return undefined;
      }
      if (request.headers.has('Authorization')) {
        return undefined;
      }

      const value = typeof token === 'function' ? await token() : token;
      if (value === undefined || value === '') {
        return undefined;
      }
      assertBearerToken(value);

      request.headers.set('Authorization', `Bearer ${value}`);
      return request;
    },
  };
}

function assertBearerToken(value: unknown): asserts value is string {
  if (value === '') {
    return;
  }
  if (typeof value !== 'string') {
    throw new ApiArgumentError(`token must be a string or undefined, received ${typeof value}`);
  }
  if (!BEARER_TOKEN_PATTERN.test(value)) {
    throw new ApiArgumentError(
      `token must use the RFC 6750 bearer token characters (letters, digits, "-._~+/", then ` +
        `optional "=" padding); the ${value.length}-character token contains others`,
    );
  }
}
