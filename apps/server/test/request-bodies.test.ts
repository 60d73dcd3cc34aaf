import type { Problem } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import { boxInvitingKey, boxWithProvision, newBoxKeys } from './support/box-material.js';
import { sendRawRequest } from './support/raw-http.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** Posts raw bytes as a box creation and returns the status and problem. */
async function postBoxBytes(
  body: Uint8Array | string,
  contentType = 'application/json',
): Promise<{ status: number; problem: Problem }> {
  const response = await fetch(
    `${fixture.server.url}/organizations/${fixture.organization.id}/boxes`,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fixture.organization.token}`,
        'content-type': contentType,
      },
      body,
    },
  );
  return { status: response.status, problem: (await response.json()) as Problem };
}

async function validBoxJson(title = 'Title'): Promise<string> {
  const { publicKey } = await newBoxKeys();
  return JSON.stringify({ title, public_key: publicKey });
}

describe('JSON request bodies', () => {
  it('rejects bytes that are not UTF-8', async () => {
    const json = await validBoxJson('caf_');
    const bytes = new TextEncoder().encode(json);
    bytes[json.indexOf('_')] = 0xe9;

    const { status, problem } = await postBoxBytes(bytes);

    expect(status).toBe(400);
    expect(problem.detail).toBe('the request body is not valid UTF-8');
    expect(problem.errors?.[0]?.pointer).toBe('');
    expect(await fixture.server.countRows('boxes')).toBe(0);
  });

  it('rejects a charset other than UTF-8', async () => {
    const { status, problem } = await postBoxBytes(
      await validBoxJson(),
      'application/json; charset=iso-8859-1',
    );

    expect(status).toBe(415);
    expect(problem.errors?.[0]?.header).toBe('Content-Type');
  });

  it('accepts charset=utf-8', async () => {
    const { status } = await postBoxBytes(await validBoxJson(), 'application/json; charset=UTF-8');

    expect(status).toBe(201);
  });

  it('names a __proto__ key instead of calling it invalid JSON', async () => {
    const { status, problem } = await postBoxBytes('{"title":"t","__proto__":{"x":1}}');

    expect(status).toBe(400);
    expect(problem.detail).toMatch(/"__proto__" or "constructor" key/);
  });

  it('rejects a repeated key naming it', async () => {
    const { publicKey } = await newBoxKeys();
    const boxesBefore = await fixture.server.countRows('boxes');
    const { status, problem } = await postBoxBytes(
      `{"title":"x","title":"y","public_key":"${publicKey}"}`,
    );

    expect(status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(problem.detail).toBe(
      'the request body repeats the key "title" in one object; send each key once',
    );
    expect(problem.errors).toEqual([
      { pointer: '/title', detail: 'is a repeated key in its object' },
    ]);
    expect(await fixture.server.countRows('boxes')).toBe(boxesBefore);
  });

  it('rejects a repeated key spelled with an escape', async () => {
    const { publicKey } = await newBoxKeys();
    const { status, problem } = await postBoxBytes(
      `{"title":"x","public_key":"${publicKey}","\\u0074itle":"y"}`,
    );

    expect(status).toBe(400);
    expect(problem.errors?.[0]?.pointer).toBe('/title');
  });

  it('points at a repeated key in a nested object', async () => {
    const { body } = await boxWithProvision('nested@example.com');
    const json = JSON.stringify(body).replace(
      '"misakey_key_share":',
      '"public_key":"x","misakey_key_share":',
    );

    const { status, problem } = await postBoxBytes(json);

    expect(status).toBe(400);
    expect(problem.errors).toEqual([
      {
        pointer: '/crypto/provisions/nested@example.com/public_key',
        detail: 'is a repeated key in its object',
      },
    ]);
  });

  it('points at a repeated key in an array item', async () => {
    const person = await fixture.server.signIn();
    const { publicKey } = await newBoxKeys();
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    const response = await fetch(`${fixture.server.url}/boxes/joins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${person.token}`, 'content-type': 'application/json' },
      body: `{"boxes":[{"id":"${first}","public_key":"${publicKey}"},{"id":"${second}","public_key":"${publicKey}","public_key":"${publicKey}"}]}`,
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors?.[0]?.pointer).toBe('/boxes/1/public_key');
  });

  it('accepts one key in several objects and in strings', async () => {
    const { publicKey } = await newBoxKeys();
    const title = 'a "title": {"title": [\\"]}';
    const { status } = await postBoxBytes(JSON.stringify({ title, public_key: publicKey }));

    expect(status).toBe(201);
  });

  it('does not quote the body for invalid JSON', async () => {
    const { status, problem } = await postBoxBytes('{"title": "secret-looking-value"');

    expect(status).toBe(400);
    expect(problem.detail).toBe('the request body is not valid JSON');
    expect(JSON.stringify(problem)).not.toContain('secret-looking-value');
  });

  it('rejects blank, invisible or multi-line titles', async () => {
    const titles = [
      '   ',
      '\u200b',
      ' \u3164\u00ad',
      'a\u0000b',
      'line\nbreak',
      'next\u0085line',
      'line\u2028separator',
      '\uD800',
    ];
    for (const title of titles) {
      const { status, problem } = await postBoxBytes(await validBoxJson(title));

      expect(status, JSON.stringify(title)).toBe(400);
      expect(problem.errors?.[0]?.pointer).toBe('/title');
    }
  });

  it('rejects a sealed box that is not canonical base64url', async () => {
    const { body } = await boxInvitingKey((await newBoxKeys()).publicKey);
    const [key] = Object.keys(body.crypto?.invitation_data ?? {});
    const cases = ['A'.repeat(65), `${'A'.repeat(65)}B`];

    for (const encrypted of cases) {
      const { status, problem } = await postBoxBytes(
        JSON.stringify({ ...body, crypto: { invitation_data: { [key as string]: encrypted } } }),
      );

      expect(status, `${encrypted.length} characters`).toBe(400);
      expect(problem.errors?.[0]?.pointer).toBe(`/crypto/invitation_data/${key}`);
    }
  });
});

describe('validation details', () => {
  it('gives one error for a short key', async () => {
    const { status, problem } = await postBoxBytes(
      JSON.stringify({ title: 't', public_key: 'abc' }),
    );

    expect(status).toBe(400);
    expect(problem.errors).toHaveLength(1);
    expect(problem.errors?.[0]?.pointer).toBe('/public_key');
    expect(problem.errors?.[0]?.detail).toMatch(
      /^must NOT have fewer than 43 characters; expected/,
    );
  });

  it('describes a pattern without the regular expression', async () => {
    const { publicKey } = await newBoxKeys();
    const nonCanonical = `${publicKey.slice(0, 42)}B`;

    const { problem } = await postBoxBytes(
      JSON.stringify({ title: 't', public_key: nonCanonical }),
    );

    expect(problem.errors?.[0]?.detail).toBe(
      'is invalid; expected a 32-byte X25519 public key, unpadded base64url (43 characters)',
    );
  });

  it('names an unknown event type', async () => {
    const response = await fetch(`${fixture.server.url}/boxes/${crypto.randomUUID()}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fixture.organization.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'msg.file' }),
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors?.[0]).toEqual({
      pointer: '/type',
      detail: 'must be one of the types this operation accepts',
    });
  });
});

describe('transport errors', () => {
  it('answers an oversized request line with problem+json', async () => {
    const response = await fetch(`${fixture.server.url}/boxes/${'x'.repeat(20_000)}`);

    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as Problem;
    expect(problem.type).toBe('urn:provisions:problem:header-fields-too-large');
  });

  it('gives oversized header a request id', async () => {
    const response = await fetch(`${fixture.server.url}/crypto/provisions`, {
      headers: { 'x-big': 'a'.repeat(20_000) },
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(431);
    expect(problem.detail).toBe(
      'the request line and headers are larger than the server accepts; shorten the URL or the headers',
    );
    expect(problem.instance).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-request-id')).toBe(problem.instance);
  });

  it('answers a known path with another method with 405', async () => {
    const response = await fetch(`${fixture.server.url}/oauth/token`);
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(problem.type).toBe('urn:provisions:problem:method-not-allowed');
  });

  it('answers HTTP/1.1 without Host with a 400 problem', async () => {
    const exchange = await sendRawRequest(fixture.server.url, 'GET /openapi.json HTTP/1.1\r\n\r\n');

    expect(exchange.status).toBe(400);
    expect(exchange.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(exchange.headers.connection).toBe('close');
    expect(JSON.parse(exchange.body)).toMatchObject({
      type: 'urn:provisions:problem:malformed-request',
      instance: exchange.headers['x-request-id'],
      errors: [{ header: 'Host', detail: 'is required in HTTP/1.1' }],
    });
  });

  it('answers two Host headers with a 400 problem', async () => {
    const exchange = await sendRawRequest(
      fixture.server.url,
      'GET /openapi.json HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n',
    );

    expect(exchange.status).toBe(400);
    expect(JSON.parse(exchange.body)).toMatchObject({
      errors: [{ header: 'Host', detail: 'must appear once' }],
    });
  });

  it('serves HTTP/1.0 without Host', async () => {
    const exchange = await sendRawRequest(fixture.server.url, 'GET /openapi.json HTTP/1.0\r\n\r\n');

    expect(exchange.status).toBe(200);
  });

  it('answers an unknown path with 404', async () => {
    const response = await fetch(`${fixture.server.url}/no/such/path`);

    expect(response.status).toBe(404);
  });

  it('answers an overlong path parameter with 404', async () => {
    const response = await fetch(`${fixture.server.url}/boxes/${'x'.repeat(150)}`, {
      headers: { authorization: `Bearer ${fixture.organization.token}` },
    });

    expect(response.status).toBe(404);
    expect(((await response.json()) as Problem).type).toBe('urn:provisions:problem:not-found');
  });
});

describe('API description', () => {
  it('serves the document it validates against', async () => {
    const response = await fetch(`${fixture.server.url}/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: object };

    expect(response.status).toBe(200);
    expect(document.openapi).toBe('3.1.0');
    expect(document).toEqual(fixture.server.contract.document);
  });
});
