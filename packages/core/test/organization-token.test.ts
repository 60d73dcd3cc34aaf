import { createApiClient } from '@provisions/api';
import { describe, expect, it, vi } from 'vitest';
import { type OrganizationTokens, obtainOrganizationTokens } from '../src/organization-token.js';

const BASE_URL = 'http://127.0.0.1:9';

/** Returns tokens whose token requests get `token-1`, `token-2`, … or, once `failRenewal` is set, a 503. */
async function fakeTokens(): Promise<{ tokens: OrganizationTokens; failRenewal: () => void }> {
  let issued = 0;
  let failing = false;
  const tokenClient = createApiClient({
    baseUrl: BASE_URL,
    fetch: async () => {
      if (failing) {
        return new Response(null, { status: 503 });
      }
      issued += 1;
      return Response.json({
        access_token: `token-${issued}`,
        token_type: 'Bearer',
        expires_in: 3600,
      });
    },
  });
  const tokens = await obtainOrganizationTokens(tokenClient, {
    clientId: 'organization',
    clientSecret: 'secret',
  });
  const failRenewal = (): void => {
    failing = true;
  };
  return { tokens, failRenewal };
}

/**
 * Builds a request with the current token and a body that never ends, and reports whether the
 * body's source was cancelled. A source is cancelled only when every copy of its body is.
 */
async function streamingRequest(
  tokens: OrganizationTokens,
): Promise<{ request: Request; sourceCancelled: () => boolean }> {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true;
    },
  });
  const request = new Request(`${BASE_URL}/organizations/o/boxes`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await tokens.current()}` },
    body,
    duplex: 'half',
  } as RequestInit);
  return { request, sourceCancelled: () => cancelled };
}

describe('resendAfterRejection', () => {
  it('releases the body copy when the request fails', async () => {
    const { tokens } = await fakeTokens();
    const { request, sourceCancelled } = await streamingRequest(tokens);
    const failingFetch = tokens.resendAfterRejection(async (sent) => {
      // Not awaited, because a cloned body's cancel settles only once the copy is cancelled too.
      void sent.body?.cancel();
      throw new TypeError('fetch failed');
    });

    await expect(failingFetch(request)).rejects.toThrow('fetch failed');

    await vi.waitFor(() => expect(sourceCancelled()).toBe(true), { timeout: 1000 });
  });

  it('releases the body copy when the renewal fails', async () => {
    const { tokens, failRenewal } = await fakeTokens();
    const { request, sourceCancelled } = await streamingRequest(tokens);
    failRenewal();
    const rejectingFetch = tokens.resendAfterRejection(async (sent) => {
      void sent.body?.cancel();
      return new Response(null, { status: 401 });
    });

    await expect(rejectingFetch(request)).rejects.toMatchObject({ status: 503 });

    await vi.waitFor(() => expect(sourceCancelled()).toBe(true), { timeout: 1000 });
  });
});
