import { describe, expectTypeOf, it } from 'vitest';
import {
  type AccessToken,
  type ApiError,
  type Box,
  type components,
  createApiClient,
  type EventPage,
  type Problem,
  requestOrganizationToken,
  unwrap,
} from '../src/index.js';

// Type tests: vitest's typecheck mode and `tsc` check this file; it is never executed.
// Each `@ts-expect-error` fails the check if the line below it stops being a type error.

const client = createApiClient({ baseUrl: 'http://127.0.0.1:8080' });
const id = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const publicKey = 'eu87vEFWxCZcJaQSqiLMGMNvVlsp9uMO97SZcyHctRg';

describe('ApiClient paths', () => {
  it('rejects a path the document does not have', () => {
    // @ts-expect-error '/box/{id}' is not a path of the document.
    void client.GET('/box/{id}', { params: { path: { id } } });
  });

  it('rejects a method the path does not have', () => {
    // @ts-expect-error '/organizations/{oid}/boxes' has POST only.
    void client.GET('/organizations/{oid}/boxes', { params: { path: { oid: id } } });
  });

  it('requires the path parameters', () => {
    // @ts-expect-error the `id` path parameter is missing.
    void client.GET('/boxes/{id}', { params: { path: {} } });
  });

  it('checks query parameter types', () => {
    void client.GET('/crypto/actions', { params: { query: { limit: 10 } } });
    // @ts-expect-error `limit` is an integer, not a string.
    void client.GET('/crypto/actions', { params: { query: { limit: '10' } } });
  });
});

describe('ApiClient bodies', () => {
  it('accepts a valid box creation', () => {
    void client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: id } },
      body: { title: 'Payslips', public_key: publicKey },
    });
  });

  it('rejects an unknown body field', () => {
    void client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: id } },
      // @ts-expect-error `titel` is not a field of BoxCreation.
      body: { titel: 'Payslips', public_key: publicKey },
    });
  });

  it('rejects a body missing a required field', () => {
    void client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: id } },
      // @ts-expect-error `public_key` is required.
      body: { title: 'Payslips' },
    });
  });

  it('rejects an undefined event type', () => {
    void client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'member.join' },
    });
    void client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      // @ts-expect-error 'msg.html' is not an event type.
      body: { type: 'msg.html' },
    });
  });

  it('requires the content of a text message', () => {
    void client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      // @ts-expect-error a `msg.text` event needs `content`.
      body: { type: 'msg.text' },
    });
  });
});

describe('results', () => {
  it('types unwrap by the operation', async () => {
    const box = unwrap(await client.GET('/boxes/{id}', { params: { path: { id } } }));
    const events = unwrap(await client.GET('/boxes/{id}/events', { params: { path: { id } } }));
    const deleted = unwrap(
      await client.DELETE('/crypto/actions/{id}', { params: { path: { id } } }),
    );

    expectTypeOf(box).toEqualTypeOf<Box>();
    expectTypeOf(events).toEqualTypeOf<EventPage>();
    expectTypeOf(deleted).toEqualTypeOf<undefined>();
  });

  it('types the error body as a problem', async () => {
    const result = await client.GET('/boxes/{id}', { params: { path: { id } } });

    expectTypeOf(result.error).toEqualTypeOf<Problem | undefined>();
  });

  it('types ApiError and the token helper', () => {
    expectTypeOf<ApiError['status']>().toEqualTypeOf<number>();
    expectTypeOf<ApiError['problem']>().toEqualTypeOf<Problem>();
    expectTypeOf(requestOrganizationToken).returns.resolves.toEqualTypeOf<AccessToken>();
  });

  it('aliases the generated schemas', () => {
    expectTypeOf<Box>().toEqualTypeOf<components['schemas']['Box']>();
    expectTypeOf<Problem>().toEqualTypeOf<components['schemas']['Problem']>();
  });
});

describe('createApiClient options', () => {
  it('accepts a token string or function', () => {
    createApiClient({ baseUrl: '/api', token: 'abc' });
    createApiClient({ baseUrl: '/api', token: () => undefined });
    createApiClient({ baseUrl: '/api', fetch: globalThis.fetch });
  });

  it('rejects a token of another type', () => {
    // @ts-expect-error a token is a string or a function.
    createApiClient({ baseUrl: '/api', token: 42 });
  });

  it('takes a time limit in milliseconds', () => {
    createApiClient({ baseUrl: '/api', timeoutMs: 5_000 });
    createApiClient({ baseUrl: '/api', timeoutMs: undefined });
    // @ts-expect-error the time limit is a number of milliseconds.
    createApiClient({ baseUrl: '/api', timeoutMs: '5s' });
  });
});
