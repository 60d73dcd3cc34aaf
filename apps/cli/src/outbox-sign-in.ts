import { type ApiClient, createApiClient, normalizeEmail, unwrap } from '@provisions/api';
import { requestEmailCode } from '@provisions/core';

import { API_CLIENT_TIMEOUT_MS } from './node-http-fetch.js';
import { markOutbox, waitForSignInCode } from './outbox.js';

/** A person's session on the server: a client that acts as them, and its access token. */
export interface OutboxSession {
  client: ApiClient;
  /** The bearer token. A secret: never log it. */
  token: string;
  /** When the server stops accepting the token, in milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * Signs a person in on a development server: requests a code, reads it from
 * the server's outbox file and exchanges it for a token.
 *
 * @param baseUrl - the API server URL.
 * @param outboxPath - the server's `outbox.jsonl`.
 * @param fetch - the CLI's transport (`createNodeHttpFetch`), which limits the time of each
 *   request.
 * @returns a client that acts as the person, with its token and the token's expiry.
 * @throws CliError when the code does not appear in time; ApiError when a request fails.
 */
export async function signInThroughOutbox(
  baseUrl: string,
  outboxPath: string,
  email: string,
  fetch: typeof globalThis.fetch,
): Promise<OutboxSession> {
  let token: string | undefined;
  const client = createApiClient({
    baseUrl,
    token: () => token,
    fetch,
    timeoutMs: API_CLIENT_TIMEOUT_MS,
  });

  const mark = await markOutbox(outboxPath);
  await requestEmailCode(client, email);
  const code = await waitForSignInCode(mark, email);
  // The session is created here instead of with `signIn` of @provisions/core, because the
  // caller keeps the token for later runs and needs its lifetime, `expires_in`.
  const signedInAt = Date.now();
  const session = unwrap(
    await client.POST('/auth/sessions', { body: { email: normalizeEmail(email), code } }),
  );
  token = session.access_token;

  return { client, token, expiresAt: signedInAt + session.expires_in * 1000 };
}
