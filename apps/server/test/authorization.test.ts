import { randomUUID } from 'node:crypto';
import type { ApiClient } from '@provisions/api';
import { encodeBase64Url, generateKeyPair, hashShare } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSON_TOKEN_TTL_SECONDS } from '../src/limits.js';
import { boxWithProvision, type TestProvision } from './support/box-material.js';
import { type TestOrganization, type TestPerson, TestServer } from './support/test-server.js';

/**
 * The authorization matrix: every operation that needs a token except
 * `PUT /identities/me/public-key`, called by each kind of caller. Whatever a caller
 * may not see must get the same response as something that does not exist, so every
 * 404 here is compared with the 404 for a resource that was never created.
 */

type Caller = 'none' | 'expired' | 'otherOrganization' | 'otherPerson' | 'owner';

const CALLERS: readonly Caller[] = ['none', 'expired', 'otherOrganization', 'otherPerson', 'owner'];

/** How a call spells the UUIDs it sends, which RFC 9562 makes case-insensitive on input. */
type IdCase = 'lowercase' | 'uppercase';

function spell(id: string, idCase: IdCase): string {
  return idCase === 'uppercase' ? id.toUpperCase() : id;
}

interface Fixtures {
  organization: TestOrganization;
  otherOrganization: TestOrganization;
  recipient: TestPerson;
  otherPerson: TestPerson;
  expiredOrganization: TestOrganization;
  expiredPerson: TestPerson;
  boxId: string;
  boxPublicKey: string;
  provision: TestProvision;
  shareHash: string;
  actionId: string;
}

/**
 * One operation of the matrix. `call` sends the request for a resource that
 * exists (`missing` false) or for one that was never created (`missing` true),
 * with the UUIDs it sends spelled in `idCase`. `owner` is the principal allowed to
 * do it. `sendsIds` marks the operations that take a UUID in the path or the body.
 */
interface MatrixOperation {
  name: string;
  owner: (fixtures: Fixtures) => ApiClient;
  expected: Record<Caller, number>;
  sendsIds?: true;
  call: (
    client: ApiClient,
    fixtures: Fixtures,
    missing: boolean,
    idCase: IdCase,
  ) => Promise<Outcome>;
}

/** What a call returned: its response and, on an error status, the parsed problem. */
interface Outcome {
  response: Response;
  problem: Record<string, unknown> | undefined;
}

function outcome(result: { response: Response; error?: unknown }): Outcome {
  return {
    response: result.response,
    problem: result.error as Record<string, unknown> | undefined,
  };
}

let server: TestServer;
let fixtures: Fixtures;

async function randomPublicKey(): Promise<string> {
  return encodeBase64Url((await generateKeyPair()).publicKey);
}

async function randomShareHash(): Promise<string> {
  return encodeBase64Url(await hashShare(crypto.getRandomValues(new Uint8Array(33))));
}

beforeAll(async () => {
  server = await TestServer.start();

  // Tokens taken now expire when the clock moves past a person token's lifetime,
  // which is longer than an organization token's.
  const expiredOrganization = await server.organization('Expired organization');
  const expiredPerson = await server.signIn();
  server.clock.advance(PERSON_TOKEN_TTL_SECONDS + 60);

  const organization = await server.organization('Owner organization');
  const otherOrganization = await server.organization('Other organization');
  const recipient = await server.signIn();
  const otherPerson = await server.signIn();

  const { body, box, provision } = await boxWithProvision(recipient.identity.email);
  const created = await organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: organization.id } },
    body,
  });
  if (created.data === undefined) {
    throw new Error(`box creation failed with ${created.response.status}`);
  }
  const actions = await recipient.client.GET('/crypto/actions', {});
  const actionId = actions.data?.items[0]?.id;
  if (actionId === undefined) {
    throw new Error('the recipient has no crypto action');
  }

  fixtures = {
    organization,
    otherOrganization,
    recipient,
    otherPerson,
    expiredOrganization,
    expiredPerson,
    boxId: created.data.id,
    boxPublicKey: box.publicKey,
    provision,
    shareHash: encodeBase64Url(await hashShare(provision.userKeyShare)),
    actionId,
  };
});

afterAll(async () => {
  await server.stop();
});

const ORGANIZATION_ONLY = {
  none: 401,
  expired: 401,
  otherOrganization: 404,
  otherPerson: 403,
} as const;

const PERSON_ONLY = {
  none: 401,
  expired: 401,
  otherOrganization: 403,
  otherPerson: 404,
} as const;

const OPERATIONS: MatrixOperation[] = [
  {
    name: 'GET /boxes/{id}',
    sendsIds: true,
    owner: (f) => f.recipient.client,
    expected: { none: 401, expired: 401, otherOrganization: 404, otherPerson: 404, owner: 200 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.GET('/boxes/{id}', {
          params: { path: { id: spell(missing ? randomUUID() : f.boxId, idCase) } },
        }),
      ),
  },
  {
    name: 'GET /boxes/{id}/events',
    sendsIds: true,
    owner: (f) => f.organization.client,
    expected: { none: 401, expired: 401, otherOrganization: 404, otherPerson: 404, owner: 200 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.GET('/boxes/{id}/events', {
          params: { path: { id: spell(missing ? randomUUID() : f.boxId, idCase) } },
        }),
      ),
  },
  {
    name: 'POST /boxes/{id}/events',
    sendsIds: true,
    owner: (f) => f.recipient.client,
    expected: { none: 401, expired: 401, otherOrganization: 404, otherPerson: 404, owner: 201 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.POST('/boxes/{id}/events', {
          params: { path: { id: spell(missing ? randomUUID() : f.boxId, idCase) } },
          body: { type: 'member.join' },
        }),
      ),
  },
  {
    name: 'POST /boxes/joins',
    sendsIds: true,
    owner: (f) => f.recipient.client,
    expected: { ...PERSON_ONLY, owner: 200 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.POST('/boxes/joins', {
          body: {
            boxes: [
              {
                id: spell(missing ? randomUUID() : f.boxId, idCase),
                public_key: f.boxPublicKey,
              },
            ],
          },
        }),
      ),
  },
  {
    name: 'GET /crypto/provisions',
    owner: (f) => f.recipient.client,
    expected: { ...PERSON_ONLY, owner: 200 },
    call: async (client, f, missing) =>
      outcome(
        await client.GET('/crypto/provisions', {
          params: {
            query: { user_key_share_hash: missing ? await randomShareHash() : f.shareHash },
          },
        }),
      ),
  },
  {
    name: 'GET /identities/public-keys',
    owner: (f) => f.organization.client,
    expected: { none: 401, expired: 401, otherOrganization: 200, otherPerson: 403, owner: 200 },
    call: async (client, f) =>
      outcome(
        await client.GET('/identities/public-keys', {
          params: { query: { identifier: f.recipient.identity.email } },
        }),
      ),
  },
  {
    name: 'POST /identities/public-keys/lookups',
    owner: (f) => f.organization.client,
    expected: { none: 401, expired: 401, otherOrganization: 200, otherPerson: 403, owner: 200 },
    call: async (client, f) =>
      outcome(
        await client.POST('/identities/public-keys/lookups', {
          body: { identifiers: [f.recipient.identity.email] },
        }),
      ),
  },
  {
    name: 'POST /organizations/{oid}/boxes',
    sendsIds: true,
    owner: (f) => f.organization.client,
    expected: { ...ORGANIZATION_ONLY, owner: 201 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.POST('/organizations/{oid}/boxes', {
          params: { path: { oid: spell(missing ? randomUUID() : f.organization.id, idCase) } },
          body: { title: 'Matrix box', public_key: await randomPublicKey() },
        }),
      ),
  },
  {
    name: 'GET /crypto/actions',
    owner: (f) => f.recipient.client,
    expected: { none: 401, expired: 401, otherOrganization: 403, otherPerson: 200, owner: 200 },
    call: async (client) => outcome(await client.GET('/crypto/actions', {})),
  },
  {
    name: 'GET /identities/me',
    owner: (f) => f.recipient.client,
    expected: { none: 401, expired: 401, otherOrganization: 403, otherPerson: 200, owner: 200 },
    call: async (client) => outcome(await client.GET('/identities/me', {})),
  },
  // The two deletions run last, because the owner's call removes what the other callers requested.
  {
    name: 'DELETE /crypto/actions/{id}',
    sendsIds: true,
    owner: (f) => f.recipient.client,
    expected: { ...PERSON_ONLY, owner: 204 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.DELETE('/crypto/actions/{id}', {
          params: { path: { id: spell(missing ? randomUUID() : f.actionId, idCase) } },
        }),
      ),
  },
  {
    name: 'DELETE /organizations/{oid}/provisions/{public_key}',
    sendsIds: true,
    owner: (f) => f.organization.client,
    expected: { ...ORGANIZATION_ONLY, owner: 204 },
    call: async (client, f, missing, idCase) =>
      outcome(
        await client.DELETE('/organizations/{oid}/provisions/{public_key}', {
          params: {
            path: {
              oid: spell(f.organization.id, idCase),
              public_key: missing ? await randomPublicKey() : f.provision.payload.public_key,
            },
          },
        }),
      ),
  },
];

function clientOf(caller: Caller, operation: MatrixOperation): ApiClient {
  switch (caller) {
    case 'none':
      return server.client();
    case 'expired':
      // An expired token of the same kind as the owner's, so only its age differs.
      return operation.owner(fixtures) === fixtures.organization.client
        ? fixtures.expiredOrganization.client
        : fixtures.expiredPerson.client;
    case 'otherOrganization':
      return fixtures.otherOrganization.client;
    case 'otherPerson':
      return fixtures.otherPerson.client;
    case 'owner':
      return operation.owner(fixtures);
  }
}

/**
 * Strips a problem of `instance`, which differs per request, and replaces the
 * requested ids and keys in `detail`, since the caller sent those. Ids are matched in
 * lower case only, because the server must write them in lower case whatever the
 * caller sent.
 */
function problemWithoutInstance(problem: Record<string, unknown> | undefined): unknown {
  const { instance: _instance, detail, ...rest } = problem ?? {};
  const requested =
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{43,86}/g;
  return { ...rest, detail: String(detail).replace(requested, '<requested>') };
}

/** The operation that needs a token but has no row in the matrix. */
const SET_PUBLIC_KEY = 'PUT /identities/me/public-key';

describe('authorization matrix', () => {
  for (const operation of OPERATIONS) {
    for (const caller of CALLERS) {
      const idCases: IdCase[] = operation.sendsIds ? ['lowercase', 'uppercase'] : ['lowercase'];
      for (const idCase of idCases) {
        const suffix = idCase === 'uppercase' ? ' with uppercase ids' : '';

        it(`${operation.name} as ${caller}${suffix}`, async () => {
          const client = clientOf(caller, operation);
          const { response, problem } = await operation.call(client, fixtures, false, idCase);

          expect(response.status).toBe(operation.expected[caller]);
          expect(response.headers.get('cache-control')).toBe('no-store');

          if (response.status === 401) {
            expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
          }
          if (response.status === 404) {
            const missing = await operation.call(client, fixtures, true, idCase);
            expect(missing.response.status).toBe(404);
            expect(problem?.type).toBe('urn:provisions:problem:not-found');
            expect(problemWithoutInstance(problem)).toEqual(
              problemWithoutInstance(missing.problem),
            );
          }
        });
      }
    }
  }

  it('covers every operation that needs a token', () => {
    const document = server.contract.document as unknown as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const secured = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.security === undefined)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );

    expect([...OPERATIONS.map((operation) => operation.name), SET_PUBLIC_KEY].sort()).toEqual(
      secured.sort(),
    );
  });

  it(`${SET_PUBLIC_KEY} is not stored by caches`, async () => {
    const person = await server.signIn();
    const { response } = await person.client.PUT('/identities/me/public-key', {
      body: { public_key: await randomPublicKey() },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('lists no provision of another organization', async () => {
    const { data } = await fixtures.otherOrganization.client.GET('/identities/public-keys', {
      params: { query: { identifier: fixtures.recipient.identity.email } },
    });

    expect(data?.identifier).toBe(fixtures.recipient.identity.email);
    expect(data?.provisions).toEqual([]);
  });

  it('lists no crypto action of another person', async () => {
    const { data } = await fixtures.otherPerson.client.GET('/crypto/actions', {});

    expect(data?.items).toEqual([]);
  });

  it('answers identities/me with the caller', async () => {
    const { data } = await fixtures.otherPerson.client.GET('/identities/me', {});

    expect(data?.email).toBe(fixtures.otherPerson.identity.email);
  });
});

/**
 * Splits an operation name such as `GET /boxes/{id}` into its method and a path whose
 * parameters are all `value`.
 */
function requestLine(name: string, value: string): { method: string; path: string } {
  const [method = '', template = ''] = name.split(' ');
  return { method, path: template.replaceAll(/\{[^}]+\}/g, value) };
}

describe('errors before authentication', () => {
  const names = [...OPERATIONS.map((operation) => operation.name), SET_PUBLIC_KEY];

  // The query string and the path are checked before the token, so these 400s do not
  // depend on it. The token is sent anyway, as a client of the operation sends it.
  const malformed = [
    ...names.map((name) => {
      const { method, path } = requestLine(name, randomUUID());
      return { name, part: 'query string', method, url: `${path}?x=%2` };
    }),
    ...names
      .filter((name) => name.includes('{'))
      .map((name) => {
        const { method, path } = requestLine(name, '%FF');
        return { name, part: 'path', method, url: path };
      }),
  ];

  it.each(malformed)('$name with a malformed $part is not stored', async ({ method, url }) => {
    const response = await server.fetch(url, {
      method,
      headers: { authorization: `Bearer ${fixtures.organization.token}` },
    });
    const problem = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
