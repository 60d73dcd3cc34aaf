import { isApiError } from '@provisions/api';
import { connectOrganization, MemoryKeystore, redeemInvitation, sendBoxes } from '@provisions/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

/** More than the organization token lifetime of the server (1 hour), in milliseconds. */
const PAST_TOKEN_LIFETIME_MS = 2 * 60 * 60 * 1000;

// The server reads the time through this clock. Moving it forward expires every token the
// server has issued, as a server clock ahead of the client's does, while the client still
// takes its token to be valid for about an hour.
let serverClockOffsetMs = 0;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ now: () => new Date(Date.now() + serverClockOffsetMs) });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  serverClockOffsetMs = 0;
});

function expireServerTokens(): void {
  serverClockOffsetMs += PAST_TOKEN_LIFETIME_MS;
}

/** A request sent to the server, with the status of its response. */
interface Exchange {
  /** Method and path, such as `POST /oauth/token`. */
  operation: string;
  status: number;
  body: string;
  idempotencyKey: string | null;
}

/**
 * Sends each request to the server and records it with the response status. `beforeSend`
 * runs first and may move the server clock.
 */
function recordingFetch(
  exchanges: Exchange[],
  beforeSend: (operation: string) => void = () => {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const operation = `${request.method} ${new URL(request.url).pathname}`;
    beforeSend(operation);
    const body = request.body === null ? '' : await request.clone().text();

    const response = await fetch(request);
    exchanges.push({
      operation,
      status: response.status,
      body,
      idempotencyKey: request.headers.get('Idempotency-Key'),
    });
    return response;
  };
}

function countOf(exchanges: Exchange[], operation: string, status?: number): number {
  return exchanges.filter(
    (exchange) =>
      exchange.operation === operation && (status === undefined || exchange.status === status),
  ).length;
}

const oneBox = [{ title: 'Contract', messages: ['Your contract is signed.'] }];

describe('organization token rejected by the server', () => {
  it('renews the token once and completes the send', async () => {
    const exchanges: Exchange[] = [];
    const organization = await server.connect(recordingFetch(exchanges));
    const keystore = new MemoryKeystore();
    const send = (recipient: string) =>
      sendBoxes({ organization, keystore, appUrl: server.url, recipient, boxes: oneBox });
    await send('ada@example.com');

    expireServerTokens();
    const before = exchanges.length;
    const result = await send('grace@example.org');
    const after = exchanges.slice(before);

    expect(result.boxes).toHaveLength(1);
    expect(countOf(after, 'POST /oauth/token')).toBe(1);
    expect(countOf(after, 'GET /identities/public-keys', 401)).toBe(1);
    expect(countOf(after, 'GET /identities/public-keys', 200)).toBe(1);
  });

  it('sends a rejected box creation again with its body', async () => {
    const exchanges: Exchange[] = [];
    const boxesPath = `/organizations/${server.organizationId}/boxes`;
    let expired = false;
    const organization = await server.connect(
      recordingFetch(exchanges, (operation) => {
        if (operation === `POST ${boxesPath}` && !expired) {
          expired = true;
          expireServerTokens();
        }
      }),
    );

    const result = await sendBoxes({
      organization,
      keystore: new MemoryKeystore(),
      appUrl: server.url,
      recipient: 'mary@example.com',
      boxes: oneBox,
    });
    const person = await server.signInAs('mary@example.com');
    const redeemed = await redeemInvitation({ client: person, link: result.link as string });

    const creations = exchanges.filter((exchange) => exchange.operation === `POST ${boxesPath}`);
    expect(creations.map((exchange) => exchange.status)).toEqual([401, 201]);
    expect(creations[1]?.body).toBe(creations[0]?.body);
    expect(creations[0]?.body).toContain('"title":"Contract"');
    expect(creations[1]?.idempotencyKey).toBe(creations[0]?.idempotencyKey);
    expect(countOf(exchanges, 'POST /oauth/token')).toBe(2);
    expect(redeemed.boxes.map((box) => box.id)).toEqual([result.boxes[0]?.id]);
    expect(redeemed.boxes[0]?.messages.map((message) => message.text)).toEqual([
      'Your contract is signed.',
    ]);
  });

  it('shares one token request among concurrent rejections', async () => {
    const exchanges: Exchange[] = [];
    const organization = await server.connect(recordingFetch(exchanges));
    const keystore = new MemoryKeystore();
    const recipients = ['p1@example.com', 'p2@example.com', 'p3@example.com', 'p4@example.com'];

    expireServerTokens();
    const before = exchanges.length;
    const results = await Promise.all(
      recipients.map((recipient) =>
        sendBoxes({ organization, keystore, appUrl: server.url, recipient, boxes: oneBox }),
      ),
    );
    const after = exchanges.slice(before);

    expect(results.map((result) => result.boxes.length)).toEqual([1, 1, 1, 1]);
    expect(countOf(after, 'GET /identities/public-keys', 401)).toBe(recipients.length);
    expect(countOf(after, 'POST /oauth/token')).toBe(1);
  });

  it('returns a 401 to the second attempt as it is', async () => {
    const exchanges: Exchange[] = [];
    // Every token is expired by the time it is first used.
    const organization = await server.connect(async (request) => {
      const response = await recordingFetch(exchanges)(request);
      if (new URL(request.url).pathname === '/oauth/token') {
        expireServerTokens();
      }
      return response;
    });
    const before = exchanges.length;

    const failure = await sendBoxes({
      organization,
      keystore: new MemoryKeystore(),
      appUrl: server.url,
      recipient: 'alan@example.net',
      boxes: oneBox,
    }).catch((error: unknown) => error);
    const after = exchanges.slice(before);

    expect(isApiError(failure)).toBe(true);
    expect((failure as { status?: number }).status).toBe(401);
    expect(countOf(after, 'POST /oauth/token')).toBe(1);
    expect(countOf(after, 'GET /identities/public-keys', 401)).toBe(2);
    expect(after).toHaveLength(3);
  });

  it('returns 401 for a caller-set token', async () => {
    const exchanges: Exchange[] = [];
    const organization = await server.connect(recordingFetch(exchanges));
    const before = exchanges.length;

    const result = await organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: 'ada@example.com' } },
      headers: { Authorization: 'Bearer not-a-token-of-this-server' },
    });

    expect(result.response.status).toBe(401);
    expect(exchanges.slice(before).map((exchange) => exchange.operation)).toEqual([
      'GET /identities/public-keys',
    ]);
  });

  it('sends a rejected token request once', async () => {
    const exchanges: Exchange[] = [];

    const failure = await connectOrganization({
      baseUrl: server.url,
      clientId: server.organizationId,
      clientSecret: `${server.clientSecret}x`,
      fetch: recordingFetch(exchanges),
    }).catch((error: unknown) => error);

    expect(isApiError(failure)).toBe(true);
    expect((failure as { status?: number }).status).toBe(401);
    expect(exchanges.map((exchange) => `${exchange.operation} ${exchange.status}`)).toEqual([
      'POST /oauth/token 401',
    ]);
  });
});
