import type { BoxCreation } from '@provisions/api';
import { describe, expect, it } from 'vitest';
import {
  boxWithProvision,
  newBoxKeys,
  newProvision,
  sealInvitation,
} from './support/box-material.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

const DOT_RULE = 'it must not start or end with a dot or contain two dots in a row';

/** Addresses whose local part breaks the Dot-string rule, with the problem the detail names. */
const MISPLACED_DOTS: [string, string][] = [
  ['.r@example.com', 'starts with a dot'],
  ['r.@example.com', 'ends with a dot'],
  ['r..s@example.com', 'contains two dots in a row'],
];

/**
 * Local parts of addresses with dots only between other characters, to join with a domain.
 * Each test gets its own domain, because the server keeps one active provision per address
 * and limits sign-in codes per address.
 */
const INNER_DOTS: [string, string][] = [
  ['R.S', 'r.s'],
  ['first.middle.last', 'first.middle.last'],
  ['r.s+tag', 'r.s+tag'],
  ['j.ö.rg', 'j.ö.rg'],
];

function createBox(body: BoxCreation) {
  return fixture.organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: fixture.organization.id } },
    body,
  });
}

describe('email local part dots over HTTP', () => {
  it.each(MISPLACED_DOTS)('POST /auth/email-codes rejects %j', async (email, problem) => {
    const before = (await fixture.server.outbox()).length;

    const { response, error } = await fixture.server
      .client()
      .POST('/auth/email-codes', { body: { email } });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors).toHaveLength(1);
    expect(error?.errors?.[0]?.pointer).toBe('/email');
    expect(error?.errors?.[0]?.detail).toContain(`the local part (before the "@") ${problem}`);
    expect(error?.errors?.[0]?.detail).toContain(DOT_RULE);
    expect(await fixture.server.outbox()).toHaveLength(before);
  });

  it.each(INNER_DOTS)('POST /auth/email-codes accepts %j', async (localPart, expected) => {
    const { response } = await fixture.server
      .client()
      .POST('/auth/email-codes', { body: { email: `${localPart}@Bücher.example` } });
    const line = (await fixture.server.outbox()).at(-1);

    expect(response.status).toBe(202);
    expect(line?.to).toBe(`${expected}@xn--bcher-kva.example`);
  });

  it.each(MISPLACED_DOTS)('POST /auth/sessions rejects %j', async (email, problem) => {
    const { response, error } = await fixture.server
      .client()
      .POST('/auth/sessions', { body: { email, code: '123456' } });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe('/email');
    expect(error?.errors?.[0]?.detail).toContain(problem);
  });

  it.each(MISPLACED_DOTS)('box creation rejects provision for %j', async (email, problem) => {
    const { body } = await boxWithProvision(email);

    const { response, error } = await createBox(body);

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors).toHaveLength(1);
    expect(error?.errors?.[0]?.pointer).toBe(`/crypto/provisions/${email}`);
    expect(error?.errors?.[0]?.detail).toContain(problem);
    expect(error?.errors?.[0]?.detail).toContain(DOT_RULE);
  });

  it('box creation points at each dotted provision', async () => {
    const box = await newBoxKeys();
    const provisions: NonNullable<BoxCreation['crypto']>['provisions'] = {};
    const invitations: NonNullable<BoxCreation['crypto']>['invitation_data'] = {};
    for (const [email] of MISPLACED_DOTS) {
      const provision = await newProvision();
      provisions[email] = provision.payload;
      invitations[provision.payload.public_key] = await sealInvitation(
        box,
        provision.payload.public_key,
      );
    }

    const { response, error } = await createBox({
      title: 'Dots',
      public_key: box.publicKey,
      crypto: { invitation_data: invitations, provisions },
    });

    expect(response.status).toBe(422);
    expect(error?.errors?.map((entry) => entry.pointer)).toEqual(
      MISPLACED_DOTS.map(([email]) => `/crypto/provisions/${email}`),
    );
  });

  it.each(MISPLACED_DOTS)('box creation rejects data_subject %j', async (email, problem) => {
    const box = await newBoxKeys();

    const { response, error } = await createBox({
      title: 'Subject',
      public_key: box.publicKey,
      data_subject: email,
    });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe('/data_subject');
    expect(error?.errors?.[0]?.detail).toContain(problem);
  });

  it.each(INNER_DOTS)('box creation accepts provision for %j', async (localPart, expected) => {
    const { body, provision } = await boxWithProvision(`${localPart}@Example.org`);

    const created = await createBox({ ...body, data_subject: `${localPart}@Example.org` });
    const lookup = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: `${expected}@example.org` } },
    });

    expect(created.response.status).toBe(201);
    expect(created.data?.data_subject).toBe(`${expected}@example.org`);
    expect(lookup.data?.provisions.map((item) => item.public_key)).toEqual([
      provision.payload.public_key,
    ]);
  });

  it.each(MISPLACED_DOTS)('GET public key look-up rejects %j', async (email, problem) => {
    const { response, error } = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.parameter).toBe('identifier');
    expect(error?.errors?.[0]?.detail).toContain(problem);
  });

  it('batch look-up points at each dotted address', async () => {
    const identifiers = ['r.s@example.com', ...MISPLACED_DOTS.map(([email]) => email)];

    const { response, error } = await fixture.organization.client.POST(
      '/identities/public-keys/lookups',
      { body: { identifiers } },
    );

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.map((entry) => entry.pointer)).toEqual([
      '/identifiers/1',
      '/identifiers/2',
      '/identifiers/3',
    ]);
  });
});
