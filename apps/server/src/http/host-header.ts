import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/**
 * Adds an `onRequest` hook that rejects, with a 400 problem, an HTTP/1.1 request without
 * a `Host` header and any request with more than one, as RFC 9112 section 3.2 requires.
 * Node.js makes the same check itself but responds with an empty body, so the server
 * turns it off (`requireHostHeader: false`) and checks here instead. The response closes
 * the connection, as Node's does.
 */
export function installHostHeaderCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const { httpVersionMajor, httpVersionMinor, rawHeaders } = request.raw;
    let hostLines = 0;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index];
      // The length test spares lower-casing every other header name.
      if (name?.length === 4 && name.toLowerCase() === 'host') {
        hostLines += 1;
      }
    }

    const isHttp11 = httpVersionMajor === 1 && httpVersionMinor === 1;
    if (hostLines === 0 && isHttp11) {
      throw hostProblem('an HTTP/1.1 request needs a Host header', 'is required in HTTP/1.1');
    }
    if (hostLines > 1) {
      throw hostProblem('the request has more than one Host header', 'must appear once');
    }
    done();
  });
}

function hostProblem(detail: string, fieldDetail: string): HttpProblem {
  return new HttpProblem('malformedRequest', detail, {
    errors: [{ header: 'Host', detail: fieldDetail }],
    headers: { connection: 'close' },
  });
}
