import { HttpProblem } from '../errors/http-problem.js';
import type { Store } from '../store/store.js';
import { digestsEqual, hashSecret } from './secret-token.js';

// Compared against when the client id is unknown, so both failures take the same time.
const UNKNOWN_CLIENT_HASH = hashSecret('no organization has this client secret');

// Organization ids are UUIDs. A client id from a Basic header is checked against this
// before the look-up, as the body schema checks the `client_id` field.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASIC_PREFIX = /^Basic +/i;
// Rejects bytes that are not UTF-8 instead of replacing them.
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASIC_EXPECTED =
  'expected Basic followed by the base64 of client_id:client_secret, each form-urlencoded';

/** OAuth 2.0 client credentials, from the `Authorization` header or the form fields. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * Reads the client credentials of a token request, sent either as HTTP Basic
 * authentication (RFC 6749 §2.3.1: `client_id` and `client_secret`, each
 * form-urlencoded, as user name and password) or as `client_id` and `client_secret`
 * form fields. A client may use only one of the two methods in a request.
 *
 * @throws HttpProblem `invalidRequest` (400) naming the `Authorization` header (another
 *   scheme, both methods at once, or credentials that do not decode) or the missing field.
 */
export function readClientCredentials(
  authorization: string | undefined,
  body: { client_id?: string; client_secret?: string },
): ClientCredentials {
  if (authorization === undefined) {
    for (const field of ['client_id', 'client_secret'] as const) {
      if (body[field] === undefined) {
        throw new HttpProblem('invalidRequest', `${field} is required`, {
          errors: [
            {
              pointer: `/${field}`,
              detail: 'required unless the client authenticates with Authorization: Basic',
            },
          ],
        });
      }
    }
    return { clientId: body.client_id as string, clientSecret: body.client_secret as string };
  }

  if (!BASIC_PREFIX.test(authorization)) {
    throw invalidAuthorization(
      'the Authorization header of a token request must be Basic or absent',
    );
  }
  if (body.client_id !== undefined || body.client_secret !== undefined) {
    throw new HttpProblem(
      'invalidRequest',
      'the request authenticates the client twice; send the credentials either in the Authorization header or in the body',
      {
        errors: [
          {
            header: 'Authorization',
            detail: 'must be absent when the body has client_id or client_secret',
          },
        ],
      },
    );
  }

  const [clientId, clientSecret] = decodeBasicCredentials(authorization);
  return { clientId, clientSecret };
}

function invalidAuthorization(detail: string): HttpProblem {
  return new HttpProblem('invalidRequest', detail, {
    errors: [{ header: 'Authorization', detail: BASIC_EXPECTED }],
  });
}

function decodeBasicCredentials(authorization: string): [string, string] {
  const invalid = () =>
    invalidAuthorization('the Authorization header is not valid Basic credentials');

  const encoded = authorization.replace(BASIC_PREFIX, '').trim();
  if (encoded === '' || !BASE64.test(encoded)) {
    throw invalid();
  }

  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    throw invalid();
  }
  const separator = decoded.indexOf(':');
  if (separator < 0) {
    throw invalid();
  }
  try {
    return [
      decodeFormComponent(decoded.slice(0, separator)),
      decodeFormComponent(decoded.slice(separator + 1)),
    ];
  } catch {
    throw invalid();
  }
}

/** Decodes one application/x-www-form-urlencoded value; throws URIError on a bad escape. */
function decodeFormComponent(value: string): string {
  return decodeURIComponent(value.replaceAll('+', ' '));
}

/**
 * Checks OAuth 2.0 client credentials: the client id is the organization id and
 * the secret must hash to the stored SHA-256, compared in constant time.
 *
 * @returns The organization id.
 * @throws HttpProblem `invalidClient` (401) for an unknown id or a wrong secret alike,
 *   with `WWW-Authenticate: Basic`.
 */
export async function verifyClientCredentials(
  store: Store,
  credentials: ClientCredentials,
): Promise<string> {
  // UUIDs compare without regard to case (RFC 9562); ids are stored in lower case.
  const organization = UUID.test(credentials.clientId)
    ? await store.organizations.findById(credentials.clientId.toLowerCase())
    : undefined;
  const expected = organization?.client_secret_hash ?? UNKNOWN_CLIENT_HASH;
  const matches = digestsEqual(hashSecret(credentials.clientSecret), expected);

  if (organization === undefined || !matches) {
    // RFC 9110 requires a challenge with every 401, and Basic is the scheme a client can retry.
    throw new HttpProblem('invalidClient', 'the client_id or client_secret is wrong', {
      headers: { 'www-authenticate': 'Basic realm="provisions"' },
    });
  }
  return organization.id;
}
