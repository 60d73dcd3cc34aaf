import { HttpProblem } from '../errors/http-problem.js';
import type { Store } from '../store/store.js';
import { digestsEqual, hashSecret } from './secret-token.js';

// Compared against when the client id is unknown, so both failures take the same time.
const UNKNOWN_CLIENT_HASH = hashSecret('no organization has this client secret');

/**
 * Checks OAuth 2.0 client credentials: the client id is the organization id and
 * the secret must hash to the stored SHA-256, compared in constant time.
 *
 * @returns The organization id.
 * @throws HttpProblem `invalidClient` (401) for an unknown id or a wrong secret alike.
 */
export async function verifyClientCredentials(
  store: Store,
  clientId: string,
  clientSecret: string,
): Promise<string> {
  const organization = await store.organizations.findById(clientId);
  const expected = organization?.client_secret_hash ?? UNKNOWN_CLIENT_HASH;
  const matches = digestsEqual(hashSecret(clientSecret), expected);

  if (organization === undefined || !matches) {
    throw new HttpProblem('invalidClient', 'the client_id or client_secret is wrong');
  }
  return organization.id;
}
