import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient, UnexpectedResponseError, unwrap } from '../src/index.js';
import { createFakeTransport, jsonResponse, rejection } from './fake-transport.js';

const BASE_URL = 'http://127.0.0.1:8080';
const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>Hi</body></html>';

function clientResponding(response: () => Response) {
  return createApiClient({ baseUrl: BASE_URL, ...createFakeTransport(response) });
}

describe('success response body check', () => {
  it('rejects an HTML page with status 200', async () => {
    const client = clientResponding(
      () => new Response(HTML_PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    );

    const error = await rejection(client.GET('/identities/me'));

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error).toMatchObject({
      code: 'ERR_API_UNEXPECTED_RESPONSE',
      method: 'GET',
      path: '/identities/me',
    });
    expect((error as UnexpectedResponseError).response?.status).toBe(200);
    expect(error.message).toBe(
      'GET /identities/me: the server responded 200 with a body of type text/html where the ' +
        'API sends JSON; check that the base URL points to the provisions API. Body: ' +
        '<!DOCTYPE html> <html><head><title>Welcome</title></head><body>Hi</body></html>',
    );
  });

  it('rejects a body that is not JSON without Content-Type', async () => {
    const client = clientResponding(() => {
      const response = new Response('OK');
      response.headers.delete('Content-Type');
      return response;
    });

    const error = await rejection(client.GET('/identities/me'));

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toContain('with a body without Content-Type where the API sends JSON');
  });

  it('rejects invalid JSON served as JSON', async () => {
    const client = clientResponding(
      () => new Response(HTML_PAGE, { headers: { 'Content-Type': 'application/json' } }),
    );

    const error = await rejection(client.GET('/identities/me'));

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.message).toMatch(
      /^GET \/identities\/me: the server responded 200 with a body that is not valid JSON \(.+\); check that the base URL/,
    );
  });

  it('accepts JSON served with another media type', async () => {
    const client = clientResponding(() => new Response('{"id":"x"}'));

    const result = await client.GET('/identities/me');

    expect(result.response.headers.get('Content-Type')).toMatch(/^text\/plain/);
    expect(result.data).toEqual({ id: 'x' });
  });

  it('accepts a +json media type', async () => {
    const client = clientResponding(() => jsonResponse(200, { id: 'x' }, 'application/ld+json'));

    const result = await client.GET('/identities/me');

    expect(result.data).toEqual({ id: 'x' });
  });

  it('reads an empty success body as no data', async () => {
    const client = clientResponding(() => new Response('', { status: 200 }));

    const result = await client.GET('/identities/me');

    expect(result.data).toBeUndefined();
  });

  it('leaves a body read as text alone', async () => {
    const client = clientResponding(
      () => new Response(HTML_PAGE, { headers: { 'Content-Type': 'text/html' } }),
    );

    const result = await client.GET('/identities/me', { parseAs: 'text' });

    expect(result.data).toBe(HTML_PAGE);
  });

  it('leaves an HTML error page to unwrap', async () => {
    const client = clientResponding(
      () => new Response(HTML_PAGE, { status: 502, headers: { 'Content-Type': 'text/html' } }),
    );

    const result = await client.GET('/identities/me');

    expect(() => unwrap(result)).toThrow(ApiError);
    expect(() => unwrap(result)).toThrow(/^HTTP 502 .*instead of application\/problem\+json/);
  });
});
