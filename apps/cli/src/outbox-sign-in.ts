import { type ApiClient, createApiClient } from '@provisions/api';
import { requestEmailCode, signIn } from '@provisions/core';

import { API_CLIENT_TIMEOUT_MS } from './node-http-fetch.js';
import { markOutbox, waitForSignInCode } from './outbox.js';

/**
 * Signs a person in on a development server: requests a code, reads it from
 * the server's outbox file and exchanges it for a token.
 *
 * @param baseUrl - the API server URL.
 * @param outboxPath - the server's `outbox.jsonl`.
 * @param fetch - the CLI's transport (`createNodeHttpFetch`), which limits the time of each
 *   request.
 * @returns a client that acts as the person.
 * @throws CliError when the code does not appear in time; ApiError when a request fails.
 */
export async function signInThroughOutbox(
  baseUrl: string,
  outboxPath: string,
  email: string,
  fetch: typeof globalThis.fetch,
): Promise<ApiClient> {
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
  token = await signIn(client, email, code);

  return client;
}
