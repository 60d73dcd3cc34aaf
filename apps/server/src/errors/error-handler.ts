import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { methodNotAllowed } from '../http/allowed-methods.js';
import {
  DATABASE_RETRY_AFTER_SECONDS,
  MAIL_RETRY_AFTER_SECONDS,
  STORAGE_FULL_RETRY_AFTER_SECONDS,
} from '../limits.js';
import { MailDeliveryError } from '../mail/mail-delivery-error.js';
import type { SchemaError } from '../openapi/schema-compiler.js';
import { isDatabaseUnavailable, isStorageFull } from './database-unavailable.js';
import { HttpProblem } from './http-problem.js';
import { oauthErrorCode, oauthErrorMediaType } from './oauth-error-code.js';
import { PROBLEM_TYPES } from './problem-types.js';
import { type RequestPart, toInvalidParams } from './validation-errors.js';

/** Media type of every error response (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

// Fastify's own error codes for bad input, and the problem each becomes. Each
// names the part of the request at fault: the empty pointer is the whole body.
const FASTIFY_ERROR_PROBLEMS: Record<string, () => HttpProblem> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new HttpProblem(
      'unsupportedMediaType',
      'the request body has a media type this operation does not accept',
      {
        errors: [{ header: 'Content-Type', detail: 'is not a media type this operation accepts' }],
      },
    ),
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new HttpProblem('contentTooLarge', 'the request body is larger than the server accepts', {
      errors: [{ pointer: '', detail: 'is larger than the server accepts' }],
    }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new HttpProblem('malformedRequest', 'the request body is empty; send a JSON object', {
      errors: [{ pointer: '', detail: 'is empty; expected a JSON object' }],
    }),
  FST_ERR_CTP_INVALID_JSON_BODY: () =>
    new HttpProblem('malformedRequest', 'the request body is not valid JSON', {
      errors: [{ pointer: '', detail: 'is not valid JSON; expected a JSON object' }],
    }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new HttpProblem('malformedRequest', 'the Content-Length header does not match the body', {
      errors: [{ header: 'Content-Length', detail: 'does not match the length of the body' }],
    }),
};

/**
 * Installs the handlers that turn every failure into an `application/problem+json`
 * response. They cover problems thrown by handlers, schema validation failures
 * (with an `errors` entry per invalid input), Fastify's errors for unreadable
 * requests, unknown routes (404) and known paths called with another method (405).
 * A request whose connection closed before its body arrived gets no response, and
 * the request logging records it. Errors that mean the database is unavailable
 * (see `isDatabaseUnavailable`), that its disk is full (`isStorageFull`), or that a sign-in
 * email could not be sent (`MailDeliveryError`), get a 503 with `Retry-After`. These and
 * unexpected errors are logged once at error level, and unexpected errors get a 500 that
 * reveals nothing about them.
 *
 * @param headerNamesOf - Header names as the API description spells them, for a route URL.
 */
export function installErrorHandlers(
  app: FastifyInstance,
  headerNamesOf: (request: FastifyRequest) => Record<string, string>,
  allowedMethodsOf: (path: string) => string[] = () => [],
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // Reading the body failed because the connection closed: the client went away or
    // the request timed out. No response can reach the client, so none is sent, and
    // installRequestLogging logs the request when Node.js closes the socket.
    if (request.raw.errored !== null && request.raw.errored === error) {
      reply.hijack();
      return;
    }

    // First, because a mailer's socket error, such as ECONNREFUSED, in its cause would
    // otherwise pass for an unreachable database.
    if (error instanceof MailDeliveryError) {
      request.log.error(
        { err: error.cause },
        'request failed because the sign-in email could not be sent',
      );
      if (error.rollbackError !== undefined) {
        request.log.error(
          { err: error.rollbackError },
          'undoing the code request failed, so it still counts toward the limit of the address',
        );
      }
      return sendProblem(request, reply, mailUnavailable());
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error }, 'request failed because the database is unavailable');
      return sendProblem(request, reply, databaseUnavailable());
    }
    if (isStorageFull(error)) {
      request.log.error({ err: error }, 'request failed because the database disk is full');
      return sendProblem(request, reply, storageFull());
    }

    const problem = toHttpProblem(error, request, headerNamesOf);
    // A 501 rejects what the client sent, so it is no server failure.
    if (problem.statusCode >= 500 && problem.problemType !== PROBLEM_TYPES.notImplemented) {
      request.log.error({ err: error }, 'request failed with an unexpected error');
    }
    return sendProblem(request, reply, problem);
  });

  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethodsOf(request.url.split('?')[0] ?? '');
    if (allowed.length > 0) {
      return sendProblem(request, reply, methodNotAllowed(request.method, allowed));
    }
    return sendProblem(
      request,
      reply,
      new HttpProblem('notFound', `no operation matches ${request.method} on this path`),
    );
  });
}

/**
 * Sends a problem as the response, with `instance` set to the request id and
 * `Cache-Control: no-store`. Every problem gets that header, because some are sent
 * before the authentication hook runs (for a malformed path or query string), and no
 * response of an operation that needs a token may be stored. On a route
 * registered with `oauthErrors`, it adds the RFC 6749 `error` code as well (see
 * {@link oauthErrorCode} and {@link oauthErrorMediaType}).
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: HttpProblem,
): FastifyReply {
  const { type, title, status } = problem.problemType;
  const body: Record<string, unknown> = {
    type,
    title,
    status,
    detail: problem.detail,
    instance: request.id,
    ...problem.extensions,
  };
  if (problem.errors !== undefined) {
    body.errors = problem.errors;
  }
  let mediaType = PROBLEM_MEDIA_TYPE;
  if (request.routeOptions?.config?.oauthErrors === true) {
    const error = oauthErrorCode(problem, request.body);
    if (error !== undefined) {
      body.error = error;
      mediaType = oauthErrorMediaType(request.headers.accept);
    }
  }

  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .headers(problem.headers)
    .type(mediaType)
    .send(body);
}

function databaseUnavailable(): HttpProblem {
  return new HttpProblem(
    'serviceUnavailable',
    `the database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} seconds`,
    { headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } },
  );
}

function storageFull(): HttpProblem {
  return new HttpProblem(
    'serviceUnavailable',
    `the server's storage is full, so nothing was saved; retry in ${STORAGE_FULL_RETRY_AFTER_SECONDS} seconds`,
    { headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_SECONDS) } },
  );
}

function mailUnavailable(): HttpProblem {
  return new HttpProblem(
    'serviceUnavailable',
    `the sign-in email could not be sent, so no code was issued; retry in ${MAIL_RETRY_AFTER_SECONDS} seconds`,
    { headers: { 'retry-after': String(MAIL_RETRY_AFTER_SECONDS) } },
  );
}

function toHttpProblem(
  error: FastifyError,
  request: FastifyRequest,
  headerNamesOf: (request: FastifyRequest) => Record<string, string>,
): HttpProblem {
  if (error instanceof HttpProblem) {
    return error;
  }

  if (error.validation !== undefined && error.validationContext !== undefined) {
    const part = error.validationContext as RequestPart;
    const errors = toInvalidParams(
      error.validation as unknown as SchemaError[],
      part,
      headerNamesOf(request),
    );
    return new HttpProblem('invalidRequest', describeInvalidPart(part, errors.length), { errors });
  }

  const known = error.code === undefined ? undefined : FASTIFY_ERROR_PROBLEMS[error.code];
  if (known !== undefined) {
    return known();
  }

  // Other client errors raised by Fastify or Node.js (a malformed URL, a body the
  // JSON parser rejects for prototype poisoning) carry a 4xx status and a message
  // that describes the request without quoting it.
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return new HttpProblem('malformedRequest', error.message);
  }
  return new HttpProblem('internalError', `the server failed to process the request ${request.id}`);
}

function describeInvalidPart(part: RequestPart, count: number): string {
  const where = {
    body: 'the request body',
    params: 'the path parameters',
    querystring: 'the query parameters',
    headers: 'the request headers',
  }[part];
  const inputs = count === 1 ? 'an invalid input' : `${count} invalid inputs`;
  const verb = part === 'body' ? 'contains' : 'contain';
  return `${where} ${verb} ${inputs}; see errors`;
}
