import {
  type AccessToken,
  type ApiClient,
  type ApiError,
  isApiError,
  type OrganizationCredentials,
  requestOrganizationToken,
} from '@provisions/api';

/** Time before expiry at which the organization token is renewed, in milliseconds. */
const TOKEN_REFRESH_MARGIN_MS = 30_000;

/** A `fetch` as `createApiClient` calls it. */
type Transport = (request: Request) => Promise<Response>;

/** The organization token of one connection, with the means to renew it. */
export interface OrganizationTokens {
  /**
   * Returns the token to send, after renewing it when it expires within 30 seconds by the
   * client's clock, or waiting for a renewal in progress. Once a renewal got a credentials
   * rejection (see {@link isCredentialsRejection}), rejects at once with that same error.
   */
  current(): Promise<string>;
  /**
   * Wraps `fetch` so that a request sent with a token of this connection and rejected with
   * 401 is sent once more with a new token. Concurrent rejections share one token request,
   * and a 401 to the second attempt is returned as it is. Once a renewal got a credentials
   * rejection, a 401 rejects with that same error and requests no new token.
   */
  resendAfterRejection(fetch: Transport): Transport;
}

/**
 * Checks whether `error` is the token endpoint's rejection of the client credentials: an
 * `ApiError` with status 401 and the RFC 6749 section 5.2 error code `invalid_client`.
 *
 * @param error - anything caught.
 * @returns true for that rejection; false for any other error, 401s of other requests included.
 */
export function isCredentialsRejection(error: unknown): error is ApiError {
  return isApiError(error) && error.status === 401 && error.problem.error === 'invalid_client';
}

/**
 * Requests an organization token with `tokenClient` and returns the holder that renews it.
 *
 * @throws ApiError, ApiTimeoutError or the transport's error when the token request fails.
 */
export async function obtainOrganizationTokens(
  tokenClient: ApiClient,
  credentials: OrganizationCredentials,
): Promise<OrganizationTokens> {
  // Every token this connection obtained. A 401 to a request that carried another value, set
  // by the caller, is not this connection's to handle.
  const obtained = new Set<string>();
  let token = '';
  let expiresAt = 0;
  let renewal: Promise<string> | undefined;
  // The first credentials rejection of a renewal. Credentials the server no longer accepts
  // stay rejected, and a token request for every later call would only run into the server's
  // rate limit of token requests, so later calls fail at once with this error.
  let rejection: ApiError | undefined;

  const requestToken = async (): Promise<string> => {
    let response: AccessToken;
    try {
      response = await requestOrganizationToken(tokenClient, credentials);
    } catch (error) {
      if (isCredentialsRejection(error)) {
        rejection ??= error;
      }
      throw error;
    }
    token = response.access_token;
    expiresAt = Date.now() + response.expires_in * 1000;
    obtained.add(token);
    return token;
  };

  // Callers that need a new token while a token request is in flight wait for its result
  // instead of sending another one.
  const renew = (): Promise<string> => {
    if (renewal === undefined) {
      renewal = requestToken().finally(() => {
        renewal = undefined;
      });
    }
    return renewal;
  };

  await requestToken();

  const current = async (): Promise<string> => {
    if (rejection !== undefined) {
      throw rejection;
    }
    if (renewal !== undefined || Date.now() >= expiresAt - TOKEN_REFRESH_MARGIN_MS) {
      return renew();
    }
    return token;
  };

  // Gets the token for resending a request that the server rejected with token `rejected`.
  // It is a new token unless a later one than `rejected` exists already.
  const replacementFor = (rejected: string): Promise<string> => {
    if (rejection !== undefined) {
      return Promise.reject(rejection);
    }
    if (renewal !== undefined || rejected === token) {
      return renew();
    }
    // An older token: the current one came later, from another rejection or an expiry.
    return Promise.resolve(token);
  };

  const resendAfterRejection =
    (fetch: Transport): Transport =>
    async (request) => {
      const sent = bearerTokenOf(request);
      if (sent === undefined || !obtained.has(sent)) {
        return fetch(request);
      }

      // fetch reads the body stream of `request`, so the second attempt of a request with a
      // body needs a copy made before the first one is sent. Every path that does not send
      // the copy releases it. A request without a body is sent again as it is.
      const spare = request.body === null ? request : request.clone();
      let replacement: string;
      try {
        const response = await fetch(request);
        if (response.status !== 401) {
          releaseBody(spare);
          return response;
        }
        await response.body?.cancel();
        replacement = await replacementFor(sent);
      } catch (error) {
        releaseBody(spare);
        throw error;
      }
      const headers = new Headers(spare.headers);
      headers.set('Authorization', `Bearer ${replacement}`);
      return fetch(new Request(spare, { headers }));
    };

  return { current, resendAfterRejection };
}

/**
 * Cancels the body of a request that will not be sent. The cancellation is not awaited: on a
 * copy made by `clone()`, it settles only once the original's body is consumed or cancelled
 * too, which a transport that failed early may never do. Nothing waits for the result, so
 * a rejection is dropped rather than left unhandled.
 */
function releaseBody(request: Request): void {
  request.body?.cancel().catch(() => undefined);
}

function bearerTokenOf(request: Request): string | undefined {
  const authorization = request.headers.get('Authorization');
  if (authorization === null || !authorization.startsWith('Bearer ')) {
    return undefined;
  }
  return authorization.slice('Bearer '.length);
}
