import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/**
 * Adds an `onRequest` hook that rejects, with 415, a request body whose media type
 * the operation does not declare, or that has a `Content-Encoding` such as gzip, before
 * the body is read. Fastify would otherwise
 * parse JSON sent to a form operation, or the reverse. Requests without a body pass
 * and fail schema validation if the operation requires one.
 */
export function installContentTypeCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    checkContentType(request);
    done();
  });
}

function checkContentType(request: FastifyRequest): void {
  const accepted = request.routeOptions.config.requestContentTypes;
  if (accepted === undefined || accepted.length === 0) {
    return;
  }

  const length = request.headers['content-length'];
  const hasBody =
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) {
    return;
  }

  // Bodies are read as they arrive, so a compressed body would fail as invalid JSON or
  // form data. A content coding the server cannot decode gets 415 (RFC 9110, section
  // 15.5.16), with Accept-Encoding naming the codings it takes (RFC 7694).
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw new HttpProblem(
      'unsupportedMediaType',
      `send the request body without Content-Encoding, because this server does not decode ${encoding}`,
      {
        headers: { 'accept-encoding': 'identity' },
        errors: [{ header: 'Content-Encoding', detail: 'must be absent or identity' }],
      },
    );
  }

  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === undefined || !accepted.includes(mediaType)) {
    throw new HttpProblem(
      'unsupportedMediaType',
      `send the request body as ${accepted.join(' or ')}`,
      { errors: [{ header: 'Content-Type', detail: `must be ${accepted.join(' or ')}` }] },
    );
  }
}
