import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { BoxCreation } from '@provisions/api';
import {
  decodeBase64Url,
  encodeBase64Url,
  hashShare,
  open,
  recoverSecretKey,
} from '@provisions/crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBoxKeys, newProvision, sealInvitation, sealText } from './support/box-material.js';
import { TestServer } from './support/test-server.js';

// Runs every operation of the API, successful and failing, on a server logging at
// its most verbose level, then searches the whole log for every secret the flow
// used, in each encoding a careless log call could write it in.

let server: TestServer;
let log = '';

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      log += chunk.toString();
      done();
    },
  });
  server = await TestServer.start({ logger: { level: 'trace', stream } });
});

afterAll(async () => {
  await server.stop();
});

/** A secret with a name for the failure message. */
interface NamedSecret {
  name: string;
  value: string | Uint8Array;
}

const BASE64URL_TEXT = /^[A-Za-z0-9_-]+$/;

/**
 * Lists the forms a secret could take in a log line: the text itself and its
 * base64url, and for bytes (or base64url text of bytes) the base64url,
 * standard base64 without padding, hexadecimal and comma-separated byte values.
 */
function encodingsOf(value: string | Uint8Array): string[] {
  const forms: string[] = [];
  let bytes: Uint8Array | undefined;
  if (typeof value === 'string') {
    forms.push(value, Buffer.from(value, 'utf8').toString('base64url'));
    if (value.length >= 16 && BASE64URL_TEXT.test(value)) {
      bytes = decodeBase64Url(value);
    }
  } else {
    bytes = value;
  }

  if (bytes !== undefined) {
    const buffer = Buffer.from(bytes);
    forms.push(
      buffer.toString('base64url'),
      buffer.toString('base64').replace(/=+$/, ''),
      buffer.toString('hex'),
      Array.from(bytes).join(','),
    );
  }
  return forms;
}

/** Tells whether the log contains a form of the secret. A digit-only form must not touch other digits. */
function logContains(form: string): boolean {
  if (/^[0-9]+$/.test(form)) {
    return new RegExp(`(?<![0-9])${form}(?![0-9])`).test(log);
  }
  return log.includes(form);
}

/** Waits until the request's line is logged, because it is written after the response. */
async function waitForRequestLine(requestId: string): Promise<void> {
  const line = `"request_id":"${requestId}","operation"`;
  for (let attempt = 0; attempt < 100 && !log.includes(line); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function addFailingTrigger(failingKey: string): void {
  const db = new Database(join(server.dataDir, 'provisions.sqlite'));
  try {
    db.exec(`
      CREATE TRIGGER fail_invitation
      BEFORE INSERT ON crypto_actions
      WHEN NEW.encryption_public_key = '${failingKey}'
      BEGIN
        SELECT RAISE(ABORT, 'injected failure');
      END;
    `);
  } finally {
    db.close();
  }
}

function jsonRequest(method: string, token: string | undefined, body: string): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  return { method, headers, body };
}

describe('server log', () => {
  it('contains no secret of a full flow', async () => {
    const secrets: NamedSecret[] = [];
    const keep = (name: string, value: string | Uint8Array) => {
      secrets.push({ name, value });
      return value;
    };
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

    // Organization: token, then a wrong secret and a token request of the wrong media type.
    const organization = await server.organization();
    keep('client secret', organization.client_secret);
    keep('organization access token', organization.token);
    const wrongSecret = `${organization.client_secret.slice(0, -4)}AAAA`;
    keep('wrong client secret', wrongSecret);
    const wrongSecretResponse = await server.fetch('/oauth/token', {
      method: 'POST',
      headers: formHeaders,
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: organization.id,
        client_secret: wrongSecret,
      }),
    });
    expect(wrongSecretResponse.status).toBe(401);
    const jsonTokenRequest = await server.fetch(
      '/oauth/token',
      jsonRequest(
        'POST',
        undefined,
        JSON.stringify({
          grant_type: 'client_credentials',
          client_id: organization.id,
          client_secret: organization.client_secret,
        }),
      ),
    );
    expect(jsonTokenRequest.status).toBe(415);

    // Look-up, then a box with a new provision, its invitation and a message.
    const email = server.newEmail();
    const lookup = await organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });
    expect(lookup.response.status).toBe(200);

    const box = await newBoxKeys();
    keep('box secret key', box.secretKey);
    const provision = await newProvision();
    keep('provision secret key', provision.secretKey);
    keep('user key share', provision.userKeyShare);
    keep('server key share', provision.payload.misakey_key_share);
    keep('user key share hash', provision.payload.user_key_share_hash);
    const invitation = await sealInvitation(box, provision.payload.public_key);
    keep('sealed invitation', invitation);
    const body: BoxCreation = {
      title: 'Logged box',
      public_key: box.publicKey,
      crypto: {
        invitation_data: { [provision.payload.public_key]: invitation },
        provisions: { [email]: { ...provision.payload } },
      },
    };
    const created = await organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: organization.id }, header: { 'Idempotency-Key': 'log-check-1' } },
      body,
    });
    expect(created.response.status).toBe(201);
    const boxId = created.data?.id ?? '';

    const messageText = 'the contract is attached';
    keep('message plaintext', messageText);
    const message = await sealText(box, messageText);
    keep('sealed message', message);
    const posted = await organization.client.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: { type: 'msg.text', content: { encrypted: message, public_key: box.publicKey } },
    });
    expect(posted.response.status).toBe(201);

    // Sign-in: a code, a wrong code, a malformed body carrying the code, then a session.
    const { code } = await server.requestCode(email);
    keep('sign-in code', code);
    const wrongCode = code === '000000' ? '000001' : '000000';
    keep('wrong sign-in code', wrongCode);
    const wrongCodeResponse = await server.client().POST('/auth/sessions', {
      body: { email, code: wrongCode },
    });
    expect(wrongCodeResponse.response.status).toBe(401);
    const truncated = await server.fetch(
      '/auth/sessions',
      jsonRequest('POST', undefined, `{"email":"${email}","code":"${code}"`),
    );
    expect(truncated.status).toBe(400);
    const session = await server.client().POST('/auth/sessions', { body: { email, code } });
    expect(session.response.status).toBe(201);
    const personToken = session.data?.access_token ?? '';
    keep('person access token', personToken);
    const person = server.client(personToken);

    // Redemption: the share itself sent in place of its hash, then the real look-up.
    const shareInPlaceOfHash = await server.fetch(
      `/crypto/provisions?user_key_share_hash=${encodeBase64Url(provision.userKeyShare)}`,
      { headers: { authorization: `Bearer ${personToken}` } },
    );
    expect(shareInPlaceOfHash.status).toBe(400);
    const hash = encodeBase64Url(await hashShare(provision.userKeyShare));
    const redeemed = await person.GET('/crypto/provisions', {
      params: { query: { user_key_share_hash: hash } },
    });
    expect(redeemed.response.status).toBe(200);
    const secretKey = await recoverSecretKey(
      [provision.userKeyShare, decodeBase64Url(redeemed.data?.misakey_key_share ?? '')],
      decodeBase64Url(provision.payload.public_key),
    );
    expect(encodeBase64Url(secretKey)).toBe(encodeBase64Url(provision.secretKey));

    // Crypto actions, join, read, acknowledge.
    const actions = await person.GET('/crypto/actions', {
      params: { query: { encryption_public_key: provision.payload.public_key } },
    });
    const action = actions.data?.items[0];
    expect(action?.encrypted).toBe(invitation);
    const opened = await open(decodeBase64Url(action?.encrypted ?? ''), secretKey);
    keep('opened invitation', new TextDecoder().decode(opened));
    const joined = await person.POST('/boxes/{id}/events', {
      params: { path: { id: boxId } },
      body: { type: 'member.join' },
    });
    expect(joined.response.status).toBe(201);
    const events = await person.GET('/boxes/{id}/events', { params: { path: { id: boxId } } });
    expect(events.data?.items.map((event) => event.type)).toEqual(['msg.text', 'member.join']);
    const acknowledged = await person.DELETE('/crypto/actions/{id}', {
      params: { path: { id: action?.id ?? '' } },
    });
    expect(acknowledged.response.status).toBe(204);

    // Bad requests carrying secrets: an invalid provision body, secrets as bearer
    // tokens and in an unknown path, and a box creation that fails on the server.
    const invalidBody = JSON.stringify({
      ...body,
      public_key: encodeBase64Url(box.secretKey),
      secret_key: encodeBase64Url(provision.secretKey),
      crypto: {
        ...body.crypto,
        provisions: {
          [email]: {
            ...provision.payload,
            misakey_key_share: `${provision.payload.misakey_key_share}A`,
          },
        },
      },
    });
    const invalid = await server.fetch(
      `/organizations/${organization.id}/boxes`,
      jsonRequest('POST', organization.token, invalidBody),
    );
    expect(invalid.status).toBe(400);
    const secretAsToken = await server.fetch('/identities/me', {
      headers: { authorization: `Bearer ${organization.client_secret}` },
    });
    expect(secretAsToken.status).toBe(401);
    const shareInPath = await server.fetch(
      `/crypto/provisions/${encodeBase64Url(provision.userKeyShare)}`,
      { headers: { authorization: `Bearer ${personToken}` } },
    );
    expect(shareInPath.status).toBe(404);

    const revoked = await organization.client.DELETE(
      '/organizations/{oid}/provisions/{public_key}',
      { params: { path: { oid: organization.id, public_key: provision.payload.public_key } } },
    );
    expect(revoked.response.status).toBe(204);

    const failingProvision = await newProvision();
    keep('failing provision secret key', failingProvision.secretKey);
    keep('failing user key share', failingProvision.userKeyShare);
    keep('failing server key share', failingProvision.payload.misakey_key_share);
    keep('failing user key share hash', failingProvision.payload.user_key_share_hash);
    const failingInvitation = await sealInvitation(box, failingProvision.payload.public_key);
    keep('failing sealed invitation', failingInvitation);
    addFailingTrigger(failingProvision.payload.public_key);
    const failed = await organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: organization.id } },
      body: {
        title: 'Failing box',
        public_key: (await newBoxKeys()).publicKey,
        crypto: {
          invitation_data: { [failingProvision.payload.public_key]: failingInvitation },
          provisions: { [server.newEmail()]: { ...failingProvision.payload } },
        },
      },
    });
    expect(failed.response.status).toBe(500);

    // The log must be the real thing: one line per request, each with its request id.
    await waitForRequestLine(failed.response.headers.get('x-request-id') ?? '');
    const lines = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(20);
    for (const line of completed) {
      expect(line.request_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(completed.map((line) => line.status)).toEqual(
      expect.arrayContaining([200, 201, 204, 400, 401, 404, 415, 500]),
    );
    const unexpected = lines.filter(
      (line) => line.msg === 'request failed with an unexpected error',
    );
    expect(unexpected).toHaveLength(1);

    const found: string[] = [];
    for (const { name, value } of secrets) {
      for (const form of encodingsOf(value)) {
        if (logContains(form)) {
          found.push(`${name} (as ${form.length} characters)`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});
