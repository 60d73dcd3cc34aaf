import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ApiArgumentError,
  type ApiClientOptions,
  ApiTimeoutError,
  createApiClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from '../src/index.js';
import { jsonResponse, rejection } from './fake-transport.js';

const BASE_URL = 'http://127.0.0.1:8080';
const BOX_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';

/**
 * Creates a transport that acts like `fetch` against a server that accepted the connection
 * and never responds: each request settles only when its signal aborts, with the reason.
 */
function silentTransport(requests: Request[] = []) {
  return (request: Request) => {
    requests.push(request);
    return new Promise<Response>((_resolve, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason), {
        once: true,
      });
    });
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('request time limit', () => {
  it('rejects a silent server after timeoutMs', async () => {
    const requests: Request[] = [];
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: silentTransport(requests),
      timeoutMs: 50,
    });

    const started = Date.now();
    const error = await rejection(client.GET('/boxes/{id}', { params: { path: { id: BOX_ID } } }));
    const elapsed = Date.now() - started;

    expect(error).toBeInstanceOf(ApiTimeoutError);
    expect(error).toMatchObject({
      code: 'ERR_API_TIMEOUT',
      method: 'GET',
      path: '/boxes/{id}',
      timeoutMs: 50,
    });
    expect(error.message).toMatch(
      /^GET \/boxes\/\{id\}: the server did not respond within 0\.05 s; check the base URL/,
    );
    expect(error.message).not.toContain(BOX_ID);
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(5_000);
    expect(requests[0]?.signal.aborted).toBe(true);
  });

  it('stops waiting for a transport that ignores the signal', async () => {
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: () => new Promise<Response>(() => {}),
      timeoutMs: 50,
    });

    const error = await rejection(client.POST('/auth/email-codes', { body: { email: 'a@b.cd' } }));

    expect(error).toBeInstanceOf(ApiTimeoutError);
    expect(error.message).toMatch(/^POST \/auth\/email-codes: the server did not respond/);
  });

  it('limits the time to read the body', async () => {
    const stalledBody = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"id":'));
      },
    });
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: async () =>
        new Response(stalledBody, { headers: { 'Content-Type': 'application/json' } }),
      timeoutMs: 50,
    });

    const error = await rejection(client.GET('/identities/me'));

    expect(error).toBeInstanceOf(ApiTimeoutError);
    expect(error).toMatchObject({ method: 'GET', path: '/identities/me' });
  });

  it('names the method of client.request', async () => {
    const client = createApiClient({ baseUrl: BASE_URL, fetch: silentTransport(), timeoutMs: 20 });

    const error = await rejection(client.request('get', '/identities/me'));

    expect(error).toBeInstanceOf(ApiTimeoutError);
    expect(error).toMatchObject({ method: 'GET', path: '/identities/me' });
  });

  it('gives each call the whole limit', async () => {
    const delayed = async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return jsonResponse(200, { id: BOX_ID });
    };
    const client = createApiClient({ baseUrl: BASE_URL, fetch: delayed, timeoutMs: 100 });

    for (let call = 0; call < 3; call += 1) {
      const result = await client.GET('/identities/me');
      expect(result.data).toEqual({ id: BOX_ID });
    }
  });

  it('uses 30 seconds by default', async () => {
    const timeout = vi.spyOn(AbortSignal, 'timeout');
    const client = createApiClient({ baseUrl: BASE_URL, fetch: async () => jsonResponse(200, {}) });

    await client.GET('/identities/me');

    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(timeout).toHaveBeenCalledTimes(1);
    expect(timeout).toHaveBeenCalledWith(30_000);
  });

  it.each([0, Number.POSITIVE_INFINITY])('turns the limit off with %s', async (timeoutMs) => {
    const timeout = vi.spyOn(AbortSignal, 'timeout');
    const requests: Request[] = [];
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: async (request) => {
        requests.push(request);
        return jsonResponse(200, {});
      },
      timeoutMs,
    });

    await client.GET('/identities/me');

    expect(timeout).not.toHaveBeenCalled();
    expect(requests).toHaveLength(1);
  });

  it("passes on an abort through the caller's signal", async () => {
    const requests: Request[] = [];
    const client = createApiClient({
      baseUrl: BASE_URL,
      fetch: silentTransport(requests),
      timeoutMs: 10_000,
    });
    const controller = new AbortController();

    const call = client.GET('/identities/me', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await rejection(call);

    expect(error).not.toBeInstanceOf(ApiTimeoutError);
    expect(error.name).toBe('AbortError');
    expect(requests[0]?.signal.aborted).toBe(true);
  });

  it("keeps the limit with the caller's signal", async () => {
    const client = createApiClient({ baseUrl: BASE_URL, fetch: silentTransport(), timeoutMs: 30 });
    const controller = new AbortController();

    const error = await rejection(client.GET('/identities/me', { signal: controller.signal }));

    expect(error).toBeInstanceOf(ApiTimeoutError);
    expect(controller.signal.aborted).toBe(false);
  });

  it.each([
    [-1, 'received -1'],
    [1.5, 'received 1.5'],
    [Number.NaN, 'received NaN'],
    [2 ** 31, 'received 2147483648'],
    ['30000', 'received string'],
    [null, 'received null'],
  ])('rejects timeoutMs %s', (timeoutMs, received) => {
    const create = () =>
      createApiClient({
        baseUrl: BASE_URL,
        timeoutMs: timeoutMs as unknown as ApiClientOptions['timeoutMs'],
      });

    expect(create).toThrow(ApiArgumentError);
    expect(create).toThrow(
      `timeoutMs must be a whole number of milliseconds from 1 to 2147483647, or 0 or Infinity for no time limit; ${received}`,
    );
  });
});
