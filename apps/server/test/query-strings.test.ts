import type { Problem } from '@provisions/api';
import fc from 'fast-check';
import { parse } from 'fast-querystring';
import { beforeAll, describe, expect, it } from 'vitest';
import { MalformedQueryString, parseQueryString } from '../src/http/query-string.js';
import { useLoggingServer } from './support/logging-server.js';
import { useTestServer } from './support/test-server.js';

const fixture = useTestServer();

const BOX_ID = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';

/** Escapes that are not valid percent-encoded UTF-8, each a different failure. */
const MALFORMED_ESCAPES = [
  ['a byte that never starts UTF-8', '%FF'],
  ['an overlong NUL', '%C0%80'],
  ['a UTF-16 surrogate', '%ED%A0%80'],
  ['a truncated sequence', '%E0%A4%A'],
  ['a bare percent sign', '%'],
  ['non-hex digits', '%zz'],
] as const;

interface QueryCase {
  operationId: string;
  path: string;
  principal: 'organization' | 'person';
  /** Valid values for every required parameter and the one under test. */
  valid: Record<string, string>;
}

/** One case per operation with query parameters, with valid values the test breaks one by one. */
const OPERATIONS_WITH_QUERIES: QueryCase[] = [
  {
    operationId: 'lookUpPublicKeys',
    path: '/identities/public-keys',
    principal: 'organization',
    valid: { identifier: 'a@example.org' },
  },
  {
    operationId: 'redeemProvision',
    path: '/crypto/provisions',
    principal: 'person',
    valid: { user_key_share_hash: 'A'.repeat(86) },
  },
  {
    operationId: 'listCryptoActions',
    path: '/crypto/actions',
    principal: 'person',
    valid: { encryption_public_key: 'A'.repeat(43), cursor: 'abc', limit: '10' },
  },
  {
    operationId: 'listBoxEvents',
    path: `/boxes/${BOX_ID}/events`,
    principal: 'organization',
    valid: { cursor: 'abc', limit: '10' },
  },
];

interface DocumentOperation {
  operationId: string;
  parameters?: ({ in?: string; name?: string } | { $ref: string })[];
}

/** Names the query parameters of each operation in the API description, by operation id. */
function queryParametersByOperation(): Map<string, string[]> {
  const document = fixture.server.contract.document as unknown as {
    paths: Record<string, Record<string, DocumentOperation>>;
    components: { parameters: Record<string, { in: string; name: string }> };
  };
  const result = new Map<string, string[]>();
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) {
      const names = (operation.parameters ?? [])
        .map((parameter) =>
          '$ref' in parameter
            ? document.components.parameters[parameter.$ref.split('/').pop() ?? '']
            : parameter,
        )
        .filter((parameter) => parameter?.in === 'query')
        .map((parameter) => parameter?.name ?? '');
      if (names.length > 0) {
        result.set(operation.operationId, names);
      }
    }
  }
  return result;
}

async function tokenFor(principal: QueryCase['principal']): Promise<string> {
  if (principal === 'organization') {
    return fixture.organization.token;
  }
  return (await fixture.server.signIn()).token;
}

describe('malformed query strings', () => {
  it('cover every operation with query parameters', () => {
    const documented = queryParametersByOperation();
    const tested = new Map(
      OPERATIONS_WITH_QUERIES.map((entry) => [entry.operationId, Object.keys(entry.valid)]),
    );

    expect(tested).toEqual(documented);
  });

  for (const entry of OPERATIONS_WITH_QUERIES) {
    describe(entry.operationId, () => {
      let token = '';

      beforeAll(async () => {
        token = await tokenFor(entry.principal);
      });

      for (const parameter of Object.keys(entry.valid)) {
        it.each(MALFORMED_ESCAPES)(`rejects ${parameter} with %s`, async (_case, malformed) => {
          const query = Object.entries(entry.valid)
            .map(([name, value]) => `${name}=${name === parameter ? `x${malformed}x` : value}`)
            .join('&');
          const response = await fixture.server.fetch(`${entry.path}?${query}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const problem = (await response.json()) as Problem;

          expect(response.status).toBe(400);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(problem.type).toBe('urn:provisions:problem:malformed-request');
          expect(problem.detail).toBe('the query string is not valid percent-encoded UTF-8');
          expect(problem.errors).toEqual([
            { parameter, detail: 'is not valid percent-encoded UTF-8' },
          ]);
          expect(problem.instance).toBe(response.headers.get('x-request-id'));
          expect(response.headers.get('cache-control')).toBe('no-store');
        });
      }
    });
  }

  it('rejects before authentication', async () => {
    const response = await fixture.server.fetch('/identities/public-keys?identifier=a%FF@x.org');

    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('names an undecodable parameter name as sent', async () => {
    const response = await fixture.server.fetch('/crypto/actions?%FF=1&limit=5&x%zz', {
      headers: { authorization: `Bearer ${await tokenFor('person')}` },
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([
      { parameter: '%FF', detail: 'is not valid percent-encoded UTF-8' },
      { parameter: 'x%zz', detail: 'is not valid percent-encoded UTF-8' },
    ]);
  });

  it('names a repeated parameter once', async () => {
    const response = await fixture.server.fetch('/crypto/actions?cursor=%FF&cursor=%C0', {
      headers: { authorization: `Bearer ${await tokenFor('person')}` },
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([
      { parameter: 'cursor', detail: 'is not valid percent-encoded UTF-8' },
    ]);
  });

  it.each([
    ['a%2Bb%40example.org', 200],
    ['a+b%40example.org', 422],
    ['a+b@example.org', 422],
  ])('reads identifier=%s with + as a space', async (identifier, status) => {
    const response = await fixture.server.fetch(
      `/identities/public-keys?identifier=${identifier}`,
      {
        headers: { authorization: `Bearer ${fixture.organization.token}` },
      },
    );

    expect(response.status).toBe(status);
  });
});

describe('repeated query parameters', () => {
  for (const entry of OPERATIONS_WITH_QUERIES) {
    describe(entry.operationId, () => {
      let token = '';

      beforeAll(async () => {
        token = await tokenFor(entry.principal);
      });

      it.each(Object.keys(entry.valid))('rejects %s given twice', async (parameter) => {
        const value = entry.valid[parameter] ?? '';
        const query = `${new URLSearchParams(entry.valid)}&${parameter}=${value}`;
        const response = await fixture.server.fetch(`${entry.path}?${query}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const problem = (await response.json()) as Problem;

        expect(response.status).toBe(400);
        expect(problem.type).toBe('urn:provisions:problem:malformed-request');
        expect(problem.detail).toBe(
          `the query string contains the parameter "${parameter}" more than once; send it once`,
        );
        expect(problem.errors).toEqual([{ parameter, detail: 'appears more than once' }]);
        expect(response.headers.get('cache-control')).toBe('no-store');
      });
    });
  }

  it('names each repeated parameter once', async () => {
    const query = 'limit=1&cursor=a&limit=2&cursor=b&limit=3';
    const response = await fixture.server.fetch(`/boxes/${BOX_ID}/events?${query}`, {
      headers: { authorization: `Bearer ${fixture.organization.token}` },
    });
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.detail).toBe(
      'the query string contains the parameters "limit" and "cursor" more than once; send each once',
    );
    expect(problem.errors).toEqual([
      { parameter: 'limit', detail: 'appears more than once' },
      { parameter: 'cursor', detail: 'appears more than once' },
    ]);
  });

  it('counts a repeat without a value', async () => {
    const response = await fixture.server.fetch(
      '/identities/public-keys?identifier=a@x.org&identifier',
      {
        headers: { authorization: `Bearer ${fixture.organization.token}` },
      },
    );
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ parameter: 'identifier', detail: 'appears more than once' }]);
  });

  it('rejects before authentication', async () => {
    const response = await fixture.server.fetch('/crypto/actions?limit=1&limit=2');
    const problem = (await response.json()) as Problem;

    expect(response.status).toBe(400);
    expect(problem.type).toBe('urn:provisions:problem:malformed-request');
  });

  it('leaves the query of a page alone', async () => {
    const response = await fetch(`${fixture.server.url}/docs?x=1&x=2`);

    expect(response.status).toBe(200);
  });
});

describe('parseQueryString', () => {
  it('parses like the default parser', () => {
    expect(parseQueryString('a=1&a=%32&b&=c&d=x+y%2B')).toEqual(parse('a=1&a=%32&b&=c&d=x+y%2B'));
    expect(parseQueryString('a=1&a=%32&b&=c&d=x+y%2B')).toEqual({
      a: ['1', '2'],
      b: '',
      '': 'c',
      d: 'x y+',
    });
  });

  it('returns an empty object for an empty query', () => {
    expect(parseQueryString('')).toEqual({});
  });

  it('rejects exactly what a strict UTF-8 decoder rejects', () => {
    const piece = fc.oneof(
      fc.constantFrom('a', 'Z', '0', '+', '=', '&', '%', '-', '.', 'é'),
      fc.integer({ min: 0, max: 255 }).map((byte) => `%${byte.toString(16).padStart(2, '0')}`),
      fc.constantFrom('%zz', '%4', '%E2%82%AC', '%F0%9F%98%80'),
    );
    const queries = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));

    fc.assert(
      fc.property(queries, (query) => {
        const result = parseQueryString(query);
        const valid = query
          .split('&')
          .flatMap((pair) => {
            const separator = pair.indexOf('=');
            return separator === -1
              ? [pair]
              : [pair.slice(0, separator), pair.slice(separator + 1)];
          })
          .every(isStrictPercentEncodedUtf8);

        expect(result instanceof MalformedQueryString).toBe(!valid);
        if (valid) {
          expect(result).toEqual(expectedQuery(query));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('malformed query logging', () => {
  const logs = useLoggingServer();

  it('logs the 400 without the query', async () => {
    const response = await logs.server.fetch('/crypto/provisions?user_key_share_hash=%C0%80');
    const problem = (await response.json()) as Problem;
    const line = logs.lineFor(problem.instance);

    expect(response.status).toBe(400);
    expect(line?.msg).toBe('request completed');
    expect(line?.route).toBe('/crypto/provisions');
    expect(line?.status).toBe(400);
    expect(logs.text()).not.toContain('%C0%80');
  });
});

/**
 * Checks one query name or value with WHATWG's fatal UTF-8 decoder: every `%` starts
 * two hex digits, and each run of escapes decodes to UTF-8 without error.
 */
function isStrictPercentEncodedUtf8(component: string): boolean {
  if (/%(?![0-9A-Fa-f]{2})/.test(component)) {
    return false;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const runs = component.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? [];
  return runs.every((run) => {
    const bytes = Uint8Array.from(run.slice(1).split('%'), (hex) => Number.parseInt(hex, 16));
    try {
      decoder.decode(bytes);
      return true;
    } catch {
      return false;
    }
  });
}

/** Groups the pairs that URLSearchParams reads, as the default parser groups repeated names. */
function expectedQuery(query: string): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    const current = result[name];
    if (current === undefined) {
      result[name] = value;
    } else if (Array.isArray(current)) {
      current.push(value);
    } else {
      result[name] = [current, value];
    }
  }
  return result;
}
