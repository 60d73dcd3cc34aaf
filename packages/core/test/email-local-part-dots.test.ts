import { createApiClient, EmailAddressError } from '@provisions/api';
import { afterEach, describe, expect, it } from 'vitest';

import { MemoryKeystore, requestEmailCode, sendBoxes, signIn } from '../src/index.js';

const ORGANIZATION_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const DOT_RULE = 'it must not start or end with a dot or contain two dots in a row';

// The client records each request and returns an email code response, so a test can tell
// whether a function reached the network and with which address.
const requests: Request[] = [];
const client = createApiClient({
  baseUrl: 'http://127.0.0.1:8080',
  fetch: async (request) => {
    requests.push(request);
    return new Response(JSON.stringify({ expires_at: '2030-01-01T00:00:00Z' }), {
      status: 202,
      headers: { 'Content-Type': 'application/json' },
    });
  },
});

/** Addresses whose local part breaks the Dot-string rule, with the problem the message names. */
const MISPLACED_DOTS: [string, string][] = [
  ['.r@example.com', 'starts with a dot'],
  ['r.@example.com', 'ends with a dot'],
  ['r..s@example.com', 'contains two dots in a row'],
];

/** Addresses with dots only between other characters, with their normalized form. */
const INNER_DOTS: [string, string][] = [
  ['R.S@Example.com', 'r.s@example.com'],
  ['first.middle.last@example.com', 'first.middle.last@example.com'],
  ['r.s+tag@example.com', 'r.s+tag@example.com'],
  ['j.ö.rg@Bücher.example', 'j.ö.rg@xn--bcher-kva.example'],
];

/** Returns the EmailAddressError that `run` rejects with, failing if it settles otherwise. */
async function emailRejection(run: () => Promise<unknown>): Promise<EmailAddressError> {
  const error = await run().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EmailAddressError);
  return error as EmailAddressError;
}

afterEach(() => {
  requests.length = 0;
});

describe('email local part dots in core', () => {
  it.each(MISPLACED_DOTS)('requestEmailCode rejects %j', async (email, problem) => {
    const error = await emailRejection(() => requestEmailCode(client, email));

    expect(error.reason).toBe('misplaced-dot');
    expect(error.message).toContain(`the local part (before the "@") ${problem}`);
    expect(error.message).toContain(DOT_RULE);
    expect(requests).toHaveLength(0);
  });

  it.each(MISPLACED_DOTS)('signIn rejects %j', async (email, problem) => {
    const error = await emailRejection(() => signIn(client, email, '123456'));

    expect(error.reason).toBe('misplaced-dot');
    expect(error.message).toContain(problem);
    expect(requests).toHaveLength(0);
  });

  it.each(MISPLACED_DOTS)('sendBoxes rejects recipient %j', async (email, problem) => {
    const error = await emailRejection(() =>
      sendBoxes({
        organization: { client, organizationId: ORGANIZATION_ID },
        keystore: new MemoryKeystore(),
        appUrl: 'https://app.example.com',
        recipient: email,
        boxes: [{ title: 'Contract', messages: ['Signed.'] }],
      }),
    );

    expect(error.reason).toBe('misplaced-dot');
    expect(error.message).toContain(problem);
    expect(requests).toHaveLength(0);
  });

  it.each(MISPLACED_DOTS)('MemoryKeystore.get rejects %j', async (email, problem) => {
    const keystore = new MemoryKeystore();

    const error = await emailRejection(() => keystore.get(email));

    expect(error.reason).toBe('misplaced-dot');
    expect(error.message).toContain(problem);
  });

  it.each(INNER_DOTS)('requestEmailCode sends %j as %j', async (email, normalized) => {
    const { expiresAt } = await requestEmailCode(client, email);
    const body = (await requests[0]?.json()) as { email: string };

    expect(expiresAt).toBe('2030-01-01T00:00:00Z');
    expect(requests).toHaveLength(1);
    expect(body.email).toBe(normalized);
  });
});
