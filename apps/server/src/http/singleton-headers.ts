import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/**
 * Request header fields that the server reads and that take one value, by lower-case
 * name. RFC 9110, section 5.3, forbids repeating a field whose definition does not
 * allow a comma-separated list, and Node.js 20 would hide the repeat: it keeps the first
 * `Host`, `Authorization` or `Content-Type` line and joins repeated `Origin` and
 * `Idempotency-Key` lines with ", ". List-based fields such as `Accept` or
 * `X-Forwarded-For` may repeat.
 */
const SINGLETON_HEADERS = new Map([
  ['host', 'Host'],
  ['authorization', 'Authorization'],
  ['content-type', 'Content-Type'],
  ['origin', 'Origin'],
  ['idempotency-key', 'Idempotency-Key'],
]);

/** Lengths of the names above, which spare lower-casing most other header names. */
const SINGLETON_NAME_LENGTHS = new Set([...SINGLETON_HEADERS.keys()].map((name) => name.length));

/**
 * Adds an `onRequest` hook that rejects, with a 400 `malformed-request` problem naming
 * each header at fault, a request that repeats one of {@link SINGLETON_HEADERS}, and
 * an HTTP/1.1 request without a `Host` header, as RFC 9112 section 3.2 requires.
 * Node.js checks `Host` itself but responds with an empty body, so the server turns
 * that check off (`requireHostHeader: false`). A response about `Host` closes the
 * connection, as Node's does.
 *
 * Install it after the CORS hook, so that the web app can read the 400, and before
 * authentication, which would otherwise read the first of two `Authorization` lines.
 */
export function installSingletonHeaderCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const { httpVersionMajor, httpVersionMinor, rawHeaders } = request.raw;
    const lineCounts = new Map<string, number>();
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index];
      if (name === undefined || !SINGLETON_NAME_LENGTHS.has(name.length)) {
        continue;
      }
      const lowerCaseName = name.toLowerCase();
      if (SINGLETON_HEADERS.has(lowerCaseName)) {
        lineCounts.set(lowerCaseName, (lineCounts.get(lowerCaseName) ?? 0) + 1);
      }
    }

    const isHttp11 = httpVersionMajor === 1 && httpVersionMinor === 1;
    if (!lineCounts.has('host') && isHttp11) {
      done(
        new HttpProblem('malformedRequest', 'an HTTP/1.1 request needs a Host header', {
          errors: [{ header: 'Host', detail: 'is required in HTTP/1.1' }],
          headers: { connection: 'close' },
        }),
      );
      return;
    }

    const repeated = [...SINGLETON_HEADERS]
      .filter(([lowerCaseName]) => (lineCounts.get(lowerCaseName) ?? 0) > 1)
      .map(([, header]) => header);
    if (repeated.length > 0) {
      done(repeatedHeadersProblem(repeated));
      return;
    }
    done();
  });
}

function repeatedHeadersProblem(headers: readonly string[]): HttpProblem {
  const detail =
    headers.length === 1
      ? `the request has more than one ${headers[0]} header; send it once`
      : `the request has more than one ${headers.slice(0, -1).join(', ')} and ${headers.at(-1)} header; send each once`;

  return new HttpProblem('malformedRequest', detail, {
    errors: headers.map((header) => ({ header, detail: 'must appear once' })),
    // A client that repeats Host may disagree with a proxy on which host it meant.
    ...(headers.includes('Host') ? { headers: { connection: 'close' } } : {}),
  });
}
