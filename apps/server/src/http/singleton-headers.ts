import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/**
 * Request header fields that the server reads and that take one value, spelled as the
 * problems name them. RFC 9110, section 5.3, forbids repeating a field whose definition
 * does not allow a comma-separated list. Node.js 20 would hide such a repeat, because it
 * keeps the first `Host`, `Authorization` or `Content-Type` line and joins repeated
 * `Origin` and `Idempotency-Key` lines with ", ". List-based fields such as `Accept` or
 * `X-Forwarded-For` may repeat.
 */
const SINGLETON_HEADERS = ['Host', 'Authorization', 'Content-Type', 'Origin', 'Idempotency-Key'];

/** One bit per header of {@link SINGLETON_HEADERS}, by lower-case name, in that order. */
const SINGLETON_HEADER_BITS = new Map(
  SINGLETON_HEADERS.map((header, index) => [header.toLowerCase(), 1 << index]),
);

const HOST_BIT = 1 << SINGLETON_HEADERS.indexOf('Host');

/** Lengths of the names above, which spare lower-casing most other header names. */
const SINGLETON_NAME_LENGTHS = new Set(SINGLETON_HEADERS.map((header) => header.length));

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
    // Bit sets of the singleton headers seen at least once, and at least twice.
    let seen = 0;
    let repeated = 0;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index];
      if (name === undefined || !SINGLETON_NAME_LENGTHS.has(name.length)) {
        continue;
      }
      const bit = SINGLETON_HEADER_BITS.get(name.toLowerCase()) ?? 0;
      repeated |= seen & bit;
      seen |= bit;
    }

    const isHttp11 = httpVersionMajor === 1 && httpVersionMinor === 1;
    if ((seen & HOST_BIT) === 0 && isHttp11) {
      done(
        new HttpProblem('malformedRequest', 'an HTTP/1.1 request needs a Host header', {
          errors: [{ header: 'Host', detail: 'is required in HTTP/1.1' }],
          headers: { connection: 'close' },
        }),
      );
      return;
    }

    if (repeated !== 0) {
      done(repeatedHeadersProblem(SINGLETON_HEADERS.filter((_, index) => repeated & (1 << index))));
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
