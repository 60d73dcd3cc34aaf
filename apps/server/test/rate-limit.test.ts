import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { TestServer } from './support/test-server.js';

const LIMIT = 5;

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start({ signInRequestsPerMinute: LIMIT });
});

afterAll(async () => {
  await server.stop();
});

async function requestCode(
  email: string,
  target: TestServer = server,
  forwardedFor?: string,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (forwardedFor !== undefined) {
    headers['x-forwarded-for'] = forwardedFor;
  }

  return fetch(`${target.url}/auth/email-codes`, {
    method: 'POST',
    headers,
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

describe('client address behind a proxy', () => {
  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const direct = await TestServer.start({ signInRequestsPerMinute: 2 });
    try {
      expect((await requestCode('a@example.com', direct, '198.51.100.1')).status).toBe(202);
      expect((await requestCode('b@example.com', direct, '198.51.100.2')).status).toBe(202);

      const third = await requestCode('c@example.com', direct, '198.51.100.3');
      expect(third.status).toBe(429);
    } finally {
      await direct.stop();
    }
  });

  it('limits each forwarded client from a trusted proxy', async () => {
    const proxied = await TestServer.start({
      signInRequestsPerMinute: 2,
      trustedProxies: ['127.0.0.1', '::1'],
    });
    try {
      expect((await requestCode('a@example.com', proxied, '198.51.100.1')).status).toBe(202);
      expect((await requestCode('b@example.com', proxied, '198.51.100.1')).status).toBe(202);
      expect((await requestCode('c@example.com', proxied, '198.51.100.1')).status).toBe(429);

      const other = await requestCode('d@example.com', proxied, '198.51.100.2');
      expect(other.status).toBe(202);
    } finally {
      await proxied.stop();
    }
  });

  it('rejects an invalid trusted proxy', async () => {
    // The options are checked before the data directory is created.
    const dataDir = join(tmpdir(), `provisions-never-created-${process.pid}`);
    const start = startServer({ dataDir, trustedProxies: ['10.0.0.0/33'] });

    await expect(start).rejects.toThrow(/trustedProxies: invalid entry "10\.0\.0\.0\/33"/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
