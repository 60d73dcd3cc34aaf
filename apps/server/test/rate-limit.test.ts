import type { Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from './support/test-server.js';

const LIMIT = 5;

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start({ signInRequestsPerMinute: LIMIT });
});

afterAll(async () => {
  await server.stop();
});

async function requestCode(email: string): Promise<Response> {
  return fetch(`${server.url}/auth/email-codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
}

describe('sign-in rate limit per client', () => {
  it('returns a 429 problem past the limit', async () => {
    // A new address each time, so only the per-client limit can apply.
    for (let index = 0; index < LIMIT; index += 1) {
      expect((await requestCode(`limit${index}@example.com`)).status).toBe(202);
    }

    const response = await requestCode('one-more@example.com');
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(problem.type).toBe('urn:provisions:problem:too-many-requests');
  });

  it('counts each sign-in operation apart', async () => {
    const response = await fetch(`${server.url}/auth/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'limit0@example.com', code: '000000' }),
    });

    expect(response.status).toBe(401);
  });

  it('leaves other operations unlimited', async () => {
    for (let index = 0; index < LIMIT + 2; index += 1) {
      const response = await fetch(`${server.url}/identities/me`);
      expect(response.status).toBe(401);
    }
  });
});
