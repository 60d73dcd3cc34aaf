import { type ApiClient, createApiClient } from '@provisions/api';
import { requestEmailCode, signIn } from '@provisions/core';

import { markOutbox, waitForSignInCode } from '../../src/outbox.js';

/** Signs `email` in on the server, reading the code from its outbox, and returns the client. */
export async function signInFromOutbox(
  serverUrl: string,
  outboxPath: string,
  email: string,
): Promise<ApiClient> {
  let token: string | undefined;
  const client = createApiClient({ baseUrl: serverUrl, token: () => token });

  const mark = await markOutbox(outboxPath);
  await requestEmailCode(client, email);
  const code = await waitForSignInCode(mark, email);
  token = await signIn(client, email, code);

  return client;
}
