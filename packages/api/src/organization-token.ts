import { ApiArgumentError, describeType } from './argument-error.js';
import type { ApiClient } from './client.js';
import { unwrap } from './errors.js';
import { UnexpectedResponseError } from './request-errors.js';
import type { AccessToken } from './schemas.js';

/** An organization's OAuth 2.0 client credentials, as `create-organization` prints them. */
export interface OrganizationCredentials {
  /** The organization id (a UUID), used as the OAuth client id. */
  clientId: string;

  /** The organization's client secret. */
  clientSecret: string;
}

const TOKEN_OPERATION = { method: 'POST', path: '/oauth/token' };

/**
 * Requests an organization token with the OAuth 2.0 client credentials grant (RFC 6749
 * section 4.4): `POST /oauth/token` with the form body
 * `grant_type=client_credentials&client_id=…&client_secret=…`. No bearer token is sent with it.
 *
 * @param client - a client from `createApiClient()`.
 * @param credentials - the organization id and client secret.
 * @returns the access token; `expires_in` is in seconds.
 * @throws ApiArgumentError (a `TypeError`, code `ERR_INVALID_ARGUMENT`) if `client` is not a
 *   client, or `clientId` or `clientSecret` is not a non-empty string (the message never
 *   contains the secret).
 * @throws ApiError for an error response, such as 401 for wrong credentials.
 * @throws UnexpectedResponseError when a success response is not an access token: a
 *   non-empty `access_token`, `token_type` `Bearer` and a whole number of seconds of at
 *   least 1 in `expires_in`.
 * @example
 * ```ts
 * let token: string | undefined;
 * const client = createApiClient({ baseUrl, token: () => token });
 * token = (await requestOrganizationToken(client, { clientId, clientSecret })).access_token;
 * ```
 */
export async function requestOrganizationToken(
  client: ApiClient,
  credentials: OrganizationCredentials,
): Promise<AccessToken> {
  if (typeof (client as { POST?: unknown } | null)?.POST !== 'function') {
    throw new ApiArgumentError(
      `client must be a client from createApiClient(), received ${describeType(client)}`,
    );
  }
  if (typeof credentials !== 'object' || credentials === null) {
    throw new ApiArgumentError(
      `credentials must be an object with clientId and clientSecret, received ${describeType(credentials)}`,
    );
  }
  assertNonEmptyString(credentials.clientId, 'clientId');
  assertNonEmptyString(credentials.clientSecret, 'clientSecret');

  const result = await client.POST('/oauth/token', {
    body: {
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    },
    bodySerializer: (body) => new URLSearchParams(body).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });

  const token: unknown = unwrap(result);
  const problem = findAccessTokenProblem(token);
  if (problem !== undefined) {
    throw new UnexpectedResponseError(
      TOKEN_OPERATION,
      `the server responded ${result.response.status} with a body that is not an access token: ` +
        `${problem}; check that the base URL points to the provisions API`,
      { response: result.response },
    );
  }

  return token as AccessToken;
}

function assertNonEmptyString(value: unknown, name: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new ApiArgumentError(
      `${name} must be a non-empty string, received ${describeType(value)}`,
    );
  }
}

/** Returns what is wrong with an access token response body, without its values. */
function findAccessTokenProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `expected a JSON object, received ${describeType(body)}`;
  }

  const { access_token, token_type, expires_in } = body as Record<string, unknown>;
  if (typeof access_token !== 'string' || access_token === '') {
    return `access_token: expected a non-empty string, received ${describeType(access_token)}`;
  }
  // RFC 6749 section 5.1: the token type is compared without regard to case.
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') {
    return `token_type: expected "Bearer", received ${typeof token_type === 'string' ? JSON.stringify(token_type) : describeType(token_type)}`;
  }
  if (typeof expires_in !== 'number' || !Number.isInteger(expires_in) || expires_in < 1) {
    return `expires_in: expected a whole number of seconds of at least 1, received ${typeof expires_in === 'number' ? expires_in : describeType(expires_in)}`;
  }

  return undefined;
}
