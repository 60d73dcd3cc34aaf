import { describe, expect, it } from 'vitest';
import { boxWithProvision } from './support/box-material.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

/** Addresses whose domain is an IP address, with the start of the reason the detail gives. */
const IP_DOMAINS: [string, string][] = [
  ['ok@127.0.0.1', 'the top-level label "1" of the domain "127.0.0.1" is all digits'],
  ['ok@[127.0.0.1]', 'the domain is not a valid IDNA domain name'],
];

describe('email domains that are IP addresses', () => {
  it.each(IP_DOMAINS)('POST /auth/email-codes rejects %j', async (email, reason) => {
    const before = (await fixture.server.outbox()).length;

    const { response, error } = await fixture.server
      .client()
      .POST('/auth/email-codes', { body: { email } });

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe('/email');
    expect(error?.errors?.[0]?.detail).toContain(reason);
    expect(await fixture.server.outbox()).toHaveLength(before);
  });

  it.each(IP_DOMAINS)('box creation rejects provision for %j', async (email, reason) => {
    const { body } = await boxWithProvision(email);

    const { response, error } = await fixture.organization.client.POST(
      '/organizations/{oid}/boxes',
      { params: { path: { oid: fixture.organization.id } }, body },
    );

    expect(response.status).toBe(422);
    expect(error?.type).toBe('urn:provisions:problem:invalid-email');
    expect(error?.errors?.[0]?.pointer).toBe(`/crypto/provisions/${email}`);
    expect(error?.errors?.[0]?.detail).toContain(reason);
  });

  it('POST /auth/email-codes accepts digits before the top-level label', async () => {
    const { response } = await fixture.server
      .client()
      .POST('/auth/email-codes', { body: { email: 'ok@127.0.0.example' } });
    const line = (await fixture.server.outbox()).at(-1);

    expect(response.status).toBe(202);
    expect(line?.to).toBe('ok@127.0.0.example');
  });
});
