import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient, isApiError, type Problem, unwrap } from '../src/index.js';
import { createFakeTransport, jsonResponse } from './fake-transport.js';

const BASE_URL = 'http://127.0.0.1:8080';
const BOX_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const PUBLIC_KEY = 'eu87vEFWxCZcJaQSqiLMGMNvVlsp9uMO97SZcyHctRg';
const BOX = {
  id: BOX_ID,
  title: 'Payslips',
  public_key: PUBLIC_KEY,
  organization_id: BOX_ID,
  data_subject: null,
  created_at: '2024-05-01T10:00:00Z',
};
const VALIDATION_PROBLEM: Problem = {
  type: 'https://provisions.example/problems/validation',
  title: 'Invalid request',
  status: 422,
  detail: 'Three inputs are invalid.',
  instance: 'req-42',
  errors: [
    { pointer: '/crypto/provisions/bob@', detail: 'must be a valid email address' },
    { parameter: 'limit', detail: 'must be at most 100' },
    { header: 'Idempotency-Key', detail: 'must be at most 255 characters' },
  ],
};

/** Sends `GET /boxes/{id}` through a transport that responds with `response`. */
async function getBox(response: Response) {
  const transport = createFakeTransport(() => response);
  const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

  return client.GET('/boxes/{id}', { params: { path: { id: BOX_ID } } });
}

/** Returns what `unwrap` threw for `response`, failing the test if it returned. */
async function unwrapFailure(response: Response): Promise<ApiError> {
  const result = await getBox(response);
  try {
    unwrap(result);
  } catch (error) {
    if (error instanceof ApiError) {
      return error;
    }
    throw error;
  }

  throw new Error('unwrap returned instead of throwing');
}

describe('unwrap', () => {
  it('returns the data of a success', async () => {
    const result = await getBox(jsonResponse(200, BOX));

    expect(unwrap(result)).toEqual(BOX);
  });

  it('returns undefined for 204 No Content', async () => {
    const transport = createFakeTransport(() => new Response(null, { status: 204 }));
    const client = createApiClient({ baseUrl: BASE_URL, fetch: transport.fetch });

    const result = await client.DELETE('/crypto/actions/{id}', {
      params: { path: { id: BOX_ID } },
    });

    expect(unwrap(result)).toBeUndefined();
  });

  it('throws ApiError with the problem details', async () => {
    const error = await unwrapFailure(
      jsonResponse(422, VALIDATION_PROBLEM, 'application/problem+json; charset=utf-8'),
    );

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ApiError');
    expect(error.code).toBe('ERR_API_RESPONSE');
    expect(error.status).toBe(422);
    expect(error.problem).toEqual(VALIDATION_PROBLEM);
    expect(error.response?.status).toBe(422);
  });

  it('puts every invalid input in the message', async () => {
    const error = await unwrapFailure(
      jsonResponse(422, VALIDATION_PROBLEM, 'application/problem+json'),
    );

    expect(error.message).toBe(
      'HTTP 422 Invalid request: Three inputs are invalid. [' +
        '/crypto/provisions/bob@: must be a valid email address; ' +
        'parameter limit: must be at most 100; ' +
        'header Idempotency-Key: must be at most 255 characters]',
    );
  });

  it('lists ten invalid inputs and counts the rest', async () => {
    const errors = Array.from({ length: 12 }, (_, index) => ({
      pointer: `/items/${index}`,
      detail: 'is wrong',
    }));
    const problem = { ...VALIDATION_PROBLEM, errors };

    const error = await unwrapFailure(jsonResponse(422, problem, 'application/problem+json'));

    expect(error.message).toContain('/items/9: is wrong; 2 more]');
    expect(error.message).not.toContain('/items/10');
  });

  it('names the whole body for an empty pointer', async () => {
    const problem = {
      ...VALIDATION_PROBLEM,
      errors: [{ pointer: '', detail: 'must be an object' }],
    };

    const error = await unwrapFailure(jsonResponse(400, problem, 'application/problem+json'));

    expect(error.message).toMatch(/\[body: must be an object\]$/);
  });

  it('keeps problem extension members', async () => {
    const problem = {
      type: 'https://provisions.example/problems/provision-exists',
      title: 'Provision exists',
      status: 409,
      detail: 'bob@example.com already has an active provision.',
      existing_public_key: PUBLIC_KEY,
      retry: false,
    };

    const error = await unwrapFailure(jsonResponse(409, problem, 'application/problem+json'));

    expect(error.problem).toEqual(problem);
    expect(error.problem.existing_public_key).toBe(PUBLIC_KEY);
  });

  it('fills missing problem members from the status', async () => {
    const body = { detail: 7, errors: [{ pointer: '/title' }, { pointer: '/a', detail: 'bad' }] };
    const response = new Response(JSON.stringify(body), {
      status: 409,
      statusText: 'Conflict',
      headers: { 'Content-Type': 'application/problem+json' },
    });

    const error = await unwrapFailure(response);

    expect(error.problem).toEqual({
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: '',
      errors: [{ pointer: '/a', detail: 'bad' }],
    });
    expect(error.message).toBe('HTTP 409 Conflict [/a: bad]');
  });

  it('describes an HTML 502 from a proxy', async () => {
    const html = '<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>';
    const response = new Response(html, {
      status: 502,
      statusText: 'Bad Gateway',
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
    });

    const error = await unwrapFailure(response);

    expect(error.status).toBe(502);
    expect(error.problem.type).toBe('about:blank');
    expect(error.problem.title).toBe('Bad Gateway');
    expect(error.problem.status).toBe(502);
    expect(error.problem.detail).toBe(
      'The server responded 502 with a body of type text/html instead of application/problem+json, ' +
        'so a proxy or gateway may have answered in place of the API. Body: <html> <head><title>' +
        '502 Bad Gateway</title></head> <body>nginx</body> </html>',
    );
    expect(error.message).toMatch(
      /^HTTP 502 Bad Gateway: The server responded 502 with a body of type text\/html/,
    );
  });

  it('shortens a long unexpected body', async () => {
    const response = new Response('x'.repeat(500), { status: 500 });

    const error = await unwrapFailure(response);

    expect(error.problem.detail).toContain(`Body: ${'x'.repeat(120)}…`);
    expect(error.problem.detail).not.toContain('x'.repeat(121));
  });

  it('describes an empty error body', async () => {
    const error = await unwrapFailure(new Response(null, { status: 503 }));

    expect(error.problem.title).toBe('Server error');
    expect(error.message).toMatch(/^HTTP 503 Server error: The server responded 503/);
    expect(error.problem.detail).toMatch(/^The server responded 503 with an empty body instead/);
  });

  it('describes a body without Content-Type', async () => {
    const response = new Response(new TextEncoder().encode('upstream reset'), { status: 504 });

    const error = await unwrapFailure(response);

    expect(error.problem.detail).toMatch(
      /^The server responded 504 with a body without Content-Type/,
    );
    expect(error.problem.detail).toContain('Body: upstream reset');
  });

  it('does not trust plain JSON as problem details', async () => {
    const error = await unwrapFailure(jsonResponse(500, { message: 'upstream timed out' }));

    expect(error.problem.type).toBe('about:blank');
    expect(error.problem.detail).toContain('with a body of type application/json');
    expect(error.problem.detail).toContain('Body: {"message":"upstream timed out"}');
  });

  it('describes problem+json that is not an object', async () => {
    const response = new Response('not json', {
      status: 500,
      headers: { 'Content-Type': 'application/problem+json' },
    });

    const error = await unwrapFailure(response);

    expect(error.problem.detail).toContain(
      'an application/problem+json body that is not a JSON object',
    );
  });
});

describe('isApiError', () => {
  it('accepts an ApiError', () => {
    expect(isApiError(new ApiError(VALIDATION_PROBLEM))).toBe(true);
  });

  it('accepts ApiError from another package copy', () => {
    const copy = Object.assign(new Error('HTTP 422'), {
      code: 'ERR_API_RESPONSE',
      status: 422,
      problem: VALIDATION_PROBLEM,
    });

    expect(isApiError(copy)).toBe(true);
  });

  it('rejects other errors and values', () => {
    expect(isApiError(new Error('HTTP 422'))).toBe(false);
    expect(isApiError(Object.assign(new Error('x'), { code: 'ERR_API_RESPONSE' }))).toBe(false);
    expect(isApiError({ code: 'ERR_API_RESPONSE', status: 422, problem: {} })).toBe(false);
    expect(isApiError(undefined)).toBe(false);
  });

  it('takes status from problem without response', () => {
    const error = new ApiError(VALIDATION_PROBLEM);

    expect(error.status).toBe(422);
    expect(error.response).toBeUndefined();
  });
});
