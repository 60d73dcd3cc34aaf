import type { HealthStatus, Problem } from '@provisions/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLoggingServer } from './support/logging-server.js';
import { TestServer } from './support/test-server.js';

/** Waits for at most a second until the line of the request `requestId` is logged. */
async function waitForLogLine(
  lineFor: (requestId: string) => Record<string, unknown> | undefined,
  requestId: string,
): Promise<void> {
  for (let attempt = 0; attempt < 100 && lineFor(requestId) === undefined; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('GET /health', () => {
  const logs = useLoggingServer('info');

  it('answers 200 ok without a token', async () => {
    const response = await logs.server.fetch('/health');
    const body = (await response.json()) as HealthStatus;

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({ status: 'ok' });
    expect(logs.server.contract.checkedResponses).toBeGreaterThan(0);
  });

  it('ignores an Authorization header', async () => {
    const response = await logs.server.fetch('/health', {
      headers: { authorization: 'Bearer not-a-token' },
    });

    expect(response.status).toBe(200);
  });

  it('rejects an unknown query parameter', async () => {
    const response = await logs.server.fetch('/health?verbose=1');
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ parameter: 'verbose', detail: 'is not a known parameter' }]);
  });

  it('logs no line for a successful check', async () => {
    const health = await logs.server.fetch('/health');
    // A request sent after the check is logged after it, so its line marks the point
    // by which the check's line would have been written.
    const later = await logs.server.fetch('/identities/me');
    const healthId = health.headers.get('x-request-id') ?? '';
    const laterId = later.headers.get('x-request-id') ?? '';
    await waitForLogLine(logs.lineFor, laterId);

    expect(health.status).toBe(200);
    expect(logs.lineFor(laterId)).toMatchObject({ msg: 'request completed', status: 401 });
    expect(logs.lines().filter((line) => line.request_id === healthId)).toEqual([]);
  });
});

describe('GET /health and the sign-in rate limit', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start({ signInRequestsPerMinute: 2 });
  });

  afterAll(async () => {
    await server.stop();
  });

  it('has no rate limit', async () => {
    for (let index = 0; index < 5; index += 1) {
      const response = await server.fetch('/health');

      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});
