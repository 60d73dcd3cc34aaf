import { randomUUID } from 'node:crypto';
import { encodeBase64Url, hashShare } from '@provisions/crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxWithProvision, newBoxKeys, sealText } from './support/box-material.js';
import { type TestOrganization, type TestPerson, TestServer } from './support/test-server.js';

/**
 * Sends malformed requests to every operation. Each is a valid request with one part
 * broken: a field removed, retyped, lengthened, shortened, re-encoded or added, an email
 * with odd Unicode, a query parameter missing, repeated or invalid, or a path parameter
 * that is not an id. Others are bodies that are not JSON or not an object, other content
 * types and oversized bodies. No response may be a 5xx, and every error is problem+json.
 * A 400, 413, 415 or 422 also locates the invalid input.
 */

/** Malformed requests per operation. */
const RUNS_PER_OPERATION = 500;

/** Larger than the server's 1 MiB body limit. */
const OVERSIZED_BODY_BYTES = 1024 * 1024 + 1024;

type TokenKind = 'organization' | 'person' | 'none';

/** One operation and a valid request for it, which the fuzzer then breaks. */
interface Target {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path segments; a segment in `pathParameters` is a parameter the fuzzer may replace. */
  path: string[];
  pathParameters: number[];
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  form?: boolean;
  token: TokenKind;
}

/** A request as the fuzzer sends it. */
interface FuzzRequest {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

let server: TestServer;
let organization: TestOrganization;
let person: TestPerson;
let targets: Target[];

beforeAll(async () => {
  server = await TestServer.start();
  organization = await server.organization();
  person = await server.signIn();

  const { body: creation, box, provision } = await boxWithProvision(person.identity.email);
  const created = await organization.client.POST('/organizations/{oid}/boxes', {
    params: { path: { oid: organization.id } },
    body: creation,
  });
  if (created.data === undefined) {
    throw new Error(`box creation failed with ${created.response.status}`);
  }
  const boxId = created.data.id;
  const later = await newBoxKeys();
  const shareHash = encodeBase64Url(await hashShare(provision.userKeyShare));

  targets = [
    {
      name: 'createToken',
      method: 'POST',
      path: ['oauth', 'token'],
      pathParameters: [],
      body: {
        grant_type: 'client_credentials',
        client_id: organization.id,
        client_secret: organization.client_secret,
      },
      form: true,
      token: 'none',
    },
    {
      name: 'sendEmailCode',
      method: 'POST',
      path: ['auth', 'email-codes'],
      pathParameters: [],
      body: { email: 'fuzz@example.com' },
      token: 'none',
    },
    {
      name: 'createSession',
      method: 'POST',
      path: ['auth', 'sessions'],
      pathParameters: [],
      body: { email: 'fuzz@example.com', code: '123456' },
      token: 'none',
    },
    {
      name: 'getHealth',
      method: 'GET',
      path: ['health'],
      pathParameters: [],
      token: 'none',
    },
    {
      name: 'getMyIdentity',
      method: 'GET',
      path: ['identities', 'me'],
      pathParameters: [],
      token: 'person',
    },
    {
      name: 'setMyPublicKey',
      method: 'PUT',
      path: ['identities', 'me', 'public-key'],
      pathParameters: [],
      body: { public_key: later.publicKey },
      token: 'person',
    },
    {
      name: 'lookUpPublicKeys',
      method: 'GET',
      path: ['identities', 'public-keys'],
      pathParameters: [],
      query: { identifier: person.identity.email },
      token: 'organization',
    },
    {
      name: 'lookUpManyPublicKeys',
      method: 'POST',
      path: ['identities', 'public-keys', 'lookups'],
      pathParameters: [],
      body: { identifiers: [person.identity.email] },
      token: 'organization',
    },
    {
      name: 'createBox',
      method: 'POST',
      path: ['organizations', organization.id, 'boxes'],
      pathParameters: [1],
      body: creation as unknown as Record<string, unknown>,
      token: 'organization',
    },
    {
      name: 'revokeProvision',
      method: 'DELETE',
      path: ['organizations', organization.id, 'provisions', provision.payload.public_key],
      pathParameters: [1, 3],
      token: 'organization',
    },
    {
      name: 'redeemProvision',
      method: 'GET',
      path: ['crypto', 'provisions'],
      pathParameters: [],
      query: { user_key_share_hash: shareHash },
      token: 'person',
    },
    {
      name: 'listCryptoActions',
      method: 'GET',
      path: ['crypto', 'actions'],
      pathParameters: [],
      query: { limit: '10', encryption_public_key: provision.payload.public_key },
      token: 'person',
    },
    {
      name: 'deleteCryptoAction',
      method: 'DELETE',
      path: ['crypto', 'actions', randomUUID()],
      pathParameters: [2],
      token: 'person',
    },
    {
      name: 'getBox',
      method: 'GET',
      path: ['boxes', boxId],
      pathParameters: [1],
      token: 'organization',
    },
    {
      name: 'listBoxEvents',
      method: 'GET',
      path: ['boxes', boxId, 'events'],
      pathParameters: [1],
      query: { limit: '5' },
      token: 'organization',
    },
    {
      name: 'createBoxEvent',
      method: 'POST',
      path: ['boxes', boxId, 'events'],
      pathParameters: [1],
      body: {
        type: 'msg.text',
        content: { encrypted: await sealText(box, 'fuzz'), public_key: box.publicKey },
      },
      token: 'organization',
    },
    {
      name: 'joinBoxes',
      method: 'POST',
      path: ['boxes', 'joins'],
      pathParameters: [],
      body: { boxes: [{ id: boxId, public_key: box.publicKey }] },
      token: 'person',
    },
  ];
});

afterAll(async () => {
  await server.stop();
});

/** Values of the wrong type for any field. */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Strings a careless or hostile client might put in an email field. */
const oddEmail = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }).map((local) => `${local}@example.com`),
  fc.constantFrom(
    'alice@exam\u200Dple.com',
    'alice\u202E@example.com',
    'alice\uFF20example.com',
    'a\u0000lice@example.com',
    'alice@xn--.com',
    'alice@-example.com',
    'alice@@example.com',
    '@example.com',
    'alice@',
    'ALICE@EXAMPLE.COM\u0301',
    '\uD800@example.com',
    `${'a'.repeat(65)}@example.com`,
    `alice@${'b'.repeat(250)}.com`,
    ' \t\n ',
  ),
);

/** Ways to break one string field: length, alphabet, padding, size. */
function brokenString(value: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(value.slice(0, -1)),
    fc.constant(`${value}A`),
    fc.constant(`${value}=`),
    fc.constant(`${value.slice(0, -1)}+`),
    fc.constant(`${value.slice(0, -1)}/`),
    fc.constant(` ${value}`),
    fc.constant(''),
    fc.constant('x'.repeat(100_000)),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    oddEmail,
  );
}

/** Lists every path into a JSON value, through objects and arrays, with the value found there. */
function fieldPaths(value: unknown, prefix: string[] = []): [string[], unknown][] {
  if (value === null || typeof value !== 'object') {
    return [];
  }
  return Object.entries(value).flatMap(([key, child]) => [
    [[...prefix, key], child] as [string[], unknown],
    ...fieldPaths(child, [...prefix, key]),
  ]);
}

/** Returns a deep copy of `body` with the field at `path` replaced, or removed for undefined. */
function withField(body: unknown, path: string[], replacement: unknown): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) {
    parent = parent[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (replacement === undefined) {
    delete parent[last];
  } else {
    parent[last] = replacement;
  }
  return copy;
}

function encodeQuery(entries: [string, string][]): string {
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

function tokenFor(kind: TokenKind): Record<string, string> {
  if (kind === 'organization') {
    return { authorization: `Bearer ${organization.token}` };
  }
  if (kind === 'person') {
    return { authorization: `Bearer ${person.token}` };
  }
  return {};
}

function serialize(target: Target, body: unknown): string {
  if (target.form === true && body !== null && typeof body === 'object') {
    return new URLSearchParams(
      Object.entries(body).map(([key, value]): [string, string] => [
        key,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    ).toString();
  }
  return JSON.stringify(body);
}

/** Builds the arbitrary of malformed requests for one target. */
function malformedRequests(target: Target): fc.Arbitrary<FuzzRequest> {
  const contentType =
    target.form === true ? 'application/x-www-form-urlencoded' : 'application/json';
  const queryEntries = Object.entries(target.query ?? {});
  const build = (
    path: string[],
    query: [string, string][],
    body: string | undefined,
    type: string | undefined = body === undefined ? undefined : contentType,
  ): FuzzRequest => ({
    path: `/${path.map(encodeURIComponent).join('/')}${encodeQuery(query)}`,
    headers: { ...tokenFor(target.token), ...(type === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body }),
  });

  const variants: fc.Arbitrary<FuzzRequest>[] = [];
  const bodyText = target.body === undefined ? undefined : serialize(target, target.body);

  if (target.body !== undefined && bodyText !== undefined) {
    const fields = fieldPaths(target.body);
    const fieldBreak = fc.constantFrom(...fields).chain(([path, value]) =>
      fc.oneof(
        fc.constant(withField(target.body, path, undefined)),
        wrongType.map((wrong) => withField(target.body, path, wrong)),
        fc
          .string({ maxLength: 8 })
          .map((key) =>
            withField(target.body, [...path.slice(0, -1), `extra_${key}`], 'unexpected'),
          ),
        typeof value === 'string'
          ? brokenString(value).map((broken) => withField(target.body, path, broken))
          : wrongType.map((wrong) => withField(target.body, path, wrong)),
      ),
    );
    variants.push(
      fieldBreak.map((body) => build(target.path, queryEntries, serialize(target, body))),
      fc
        .nat({ max: bodyText.length - 1 })
        .map((cut) => build(target.path, queryEntries, bodyText.slice(0, cut))),
      fc
        .constantFrom('[]', '"text"', '42', 'null', '{"a":', '\u0000', '{}')
        .map((text) => build(target.path, queryEntries, text)),
      fc
        .constantFrom(
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          target.form === true ? 'application/json' : 'application/x-www-form-urlencoded',
        )
        .map((type) => build(target.path, queryEntries, bodyText, type)),
      fc.constant(build(target.path, queryEntries, `"${'a'.repeat(OVERSIZED_BODY_BYTES)}"`)),
    );
  }

  if (queryEntries.length > 0) {
    variants.push(
      fc
        .constantFrom(...queryEntries.keys())
        .chain((index) =>
          fc.oneof<fc.Arbitrary<[string, string][]>[]>(
            fc.constant(queryEntries.filter((_, other) => other !== index)),
            fc.constant([...queryEntries, queryEntries[index] as [string, string]]),
            brokenString(queryEntries[index]?.[1] ?? '').map((broken) =>
              queryEntries.map((entry, other) =>
                other === index ? ([entry[0], broken] as [string, string]) : entry,
              ),
            ),
          ),
        )
        .map((query) => build(target.path, query, bodyText)),
    );
  }
  variants.push(
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }))
      .map(([key, value]) => build(target.path, [...queryEntries, [`x${key}`, value]], bodyText)),
  );

  if (target.pathParameters.length > 0) {
    variants.push(
      fc
        .tuple(
          fc.constantFrom(...target.pathParameters),
          fc.oneof(
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
            fc.constantFrom('..', '%', 'null', '0', randomUUID().toUpperCase(), 'x'.repeat(5000)),
          ),
        )
        .map(([index, replacement]) =>
          build(
            target.path.map((segment, other) => (other === index ? replacement : segment)),
            queryEntries,
            bodyText,
          ),
        ),
    );
  }

  return fc.oneof(...variants);
}

/** Statuses whose problem must locate the invalid input. */
const LOCATED_STATUSES = new Set([400, 413, 415, 422]);

describe('malformed requests', () => {
  it('cover every operation of the API description', () => {
    const described = Object.values(server.contract.document.paths).flatMap((item) =>
      Object.values(item).map(
        (operation) => (operation as unknown as { operationId: string }).operationId,
      ),
    );

    expect(targets.map((target) => target.name).sort()).toEqual(described.sort());
  });

  for (const name of [
    'createToken',
    'sendEmailCode',
    'createSession',
    'getHealth',
    'getMyIdentity',
    'setMyPublicKey',
    'lookUpPublicKeys',
    'lookUpManyPublicKeys',
    'createBox',
    'revokeProvision',
    'redeemProvision',
    'listCryptoActions',
    'deleteCryptoAction',
    'getBox',
    'listBoxEvents',
    'createBoxEvent',
    'joinBoxes',
  ]) {
    it(`${name} answers each with a 4xx problem`, { timeout: 300_000 }, async () => {
      const target = targets.find((candidate) => candidate.name === name) as Target;
      let sent = 0;

      await fc.assert(
        fc.asyncProperty(malformedRequests(target), async (request) => {
          const response = await fetch(`${server.url}${request.path}`, {
            method: target.method,
            headers: request.headers,
            body: request.body,
          });
          const text = await response.text();
          sent += 1;

          expect(
            response.status,
            `${request.path.slice(0, 120)}: ${text.slice(0, 300)}`,
          ).toBeLessThan(500);
          if (response.status < 400) {
            return;
          }
          expect(
            response.headers.get('content-type'),
            `${request.path.slice(0, 120)} -> ${response.status}`,
          ).toMatch(/^application\/problem\+json/);
          const problem = JSON.parse(text) as {
            type: string;
            status: number;
            detail: string;
            errors?: { pointer?: string; parameter?: string; header?: string }[];
          };
          expect(problem.status).toBe(response.status);
          expect(problem.type).toMatch(/^urn:provisions:problem:/);
          expect(problem.detail).toBeTypeOf('string');
          if (LOCATED_STATUSES.has(response.status)) {
            expect(problem.errors?.length, text).toBeGreaterThan(0);
            for (const entry of problem.errors ?? []) {
              const located =
                entry.pointer !== undefined ||
                entry.parameter !== undefined ||
                entry.header !== undefined;
              expect(located, text).toBe(true);
            }
          }
        }),
        { numRuns: RUNS_PER_OPERATION },
      );

      expect(sent).toBe(RUNS_PER_OPERATION);
    });
  }
});
