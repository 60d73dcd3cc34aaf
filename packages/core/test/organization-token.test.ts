import { ApiError, createApiClient } from '@provisions/api';
import { describe, expect, it, vi } from 'vitest';
import {
  isCredentialsRejection,
  type OrganizationTokens,
  obtainOrganizationTokens,
} from '../src/organization-token.js';

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
  it('resends a bodyless request without a copy', async () => {
    const { tokens } = await fakeTokens();
    const clone = vi.spyOn(Request.prototype, 'clone');
    const authorizations: (string | null)[] = [];
    const rejectFirst = tokens.resendAfterRejection(async (sent) => {
      authorizations.push(sent.headers.get('Authorization'));
      return new Response(null, { status: authorizations.length === 1 ? 401 : 200 });
    });
    const request = new Request(`${BASE_URL}/identities/public-keys`, {
      headers: { Authorization: `Bearer ${await tokens.current()}` },
    });

    const response = await rejectFirst(request);
    const clones = clone.mock.calls.length;
    clone.mockRestore();

    expect(response.status).toBe(200);
    expect(authorizations).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(clones).toBe(0);
  });
});

describe('credentials rejection', () => {
  /** Tokens whose first token request succeeds and whose later ones get 401 `invalid_client`. */
  async function tokensRejectedAfterFirst(): Promise<{
    tokens: OrganizationTokens;
    tokenRequests: () => number;
  }> {
    let requests = 0;
    const tokenClient = createApiClient({
      baseUrl: BASE_URL,
      fetch: async () => {
        requests += 1;
        if (requests > 1) {
          return Response.json(
            {
              type: 'about:blank',
              title: 'Unauthorized',
              status: 401,
              detail: 'wrong client credentials',
              error: 'invalid_client',
            },
            { status: 401, headers: { 'content-type': 'application/problem+json' } },
          );
        }
        return Response.json({ access_token: 'token-1', token_type: 'Bearer', expires_in: 3600 });
      },
    });
    const tokens = await obtainOrganizationTokens(tokenClient, {
      clientId: 'organization',
      clientSecret: 'secret',
    });
    return { tokens, tokenRequests: () => requests };
  }

  it('requests no token after a rejection', async () => {
    const { tokens, tokenRequests } = await tokensRejectedAfterFirst();
    let sent = 0;
    const client = createApiClient({
      baseUrl: BASE_URL,
      token: tokens.current,
      fetch: tokens.resendAfterRejection(async () => {
        sent += 1;
        return new Response(null, { status: 401 });
      }),
    });
    const lookUp = () =>
      client.GET('/identities/public-keys', { params: { query: { identifier: 'a@example.com' } } });

    const errors: unknown[] = [];
    for (let call = 0; call < 5; call += 1) {
      errors.push(
        await lookUp().then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
    }

    expect(tokenRequests()).toBe(2);
    expect(sent).toBe(1);
    for (const error of errors) {
      expect(isCredentialsRejection(error)).toBe(true);
      expect(error).toBe(errors[0]);
    }
    await expect(tokens.current()).rejects.toBe(errors[0]);
  });

  it('fails concurrent rejections with one token request', async () => {
    const { tokens, tokenRequests } = await tokensRejectedAfterFirst();
    const rejectingFetch = tokens.resendAfterRejection(
      async () => new Response(null, { status: 401 }),
    );
    const token = await tokens.current();
    const request = () =>
      new Request(`${BASE_URL}/organizations/o/boxes`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: '{}',
      });

    const results = await Promise.allSettled([1, 2, 3, 4].map(() => rejectingFetch(request())));
    const late = await rejectingFetch(request()).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(tokenRequests()).toBe(2);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(isCredentialsRejection((result as PromiseRejectedResult).reason)).toBe(true);
    }
    expect(isCredentialsRejection(late)).toBe(true);
  });
});

describe('isCredentialsRejection', () => {
  it('matches only 401 invalid_client', () => {
    const problem = { type: 'about:blank', title: 'Unauthorized', status: 401, detail: '' };

    expect(isCredentialsRejection(new ApiError({ ...problem, error: 'invalid_client' }))).toBe(
      true,
    );
    expect(isCredentialsRejection(new ApiError(problem))).toBe(false);
    expect(
      isCredentialsRejection(new ApiError({ ...problem, status: 400, error: 'invalid_request' })),
    ).toBe(false);
    expect(isCredentialsRejection(new TypeError('fetch failed'))).toBe(false);
  });
});
