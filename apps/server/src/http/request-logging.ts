import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { DestinationStream, Level } from 'pino';
import { clientErrorStatusOf } from './client-error.js';

/** Status of a request for something the server does not implement, such as CONNECT. */
const NOT_IMPLEMENTED_STATUS = 501;

/** Logger settings of {@link startServer}. */
export interface ServerLoggerOptions {
  /** Lowest level written; default `info`. */
  level?: Level;
  /** Destination of the JSON log lines; default standard output. */
  stream?: DestinationStream;
}

/**
 * Builds Fastify's `logger` option: pino JSON lines with the request id as
 * `request_id`. Requests are logged by {@link installRequestLogging}, never with
 * their URL, query string, headers or body, and `Authorization` and `Cookie`
 * headers are redacted from anything else that logs a request.
 */
export function loggerOption(
  logger: boolean | ServerLoggerOptions | undefined,
): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) {
    return false;
  }

  const options = logger === true ? {} : logger;
  return {
    level: options.level ?? 'info',
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        route: request.routeOptions?.url ?? null,
      }),
    },
  };
}

/**
 * Adds hooks that log one line per request: operation id, method, route pattern (such
 * as `/crypto/provisions`, never the URL, whose query string can hold a share hash),
 * status, duration and client address (`request.ip`: the peer, or the `X-Forwarded-For`
 * client when the peer is a trusted proxy). A request that got a response is logged as
 * `request completed`, at error level for a 5xx other than a 501, which rejects what the
 * client sent, and at info otherwise. That includes a 408 that
 * `respondToClientError` sent after a request timeout.
 *
 * A connection can also close before its response is sent in full, because the client
 * went away or the shutdown grace period ended. Such a request is logged at info level
 * as `connection closed before the response was sent`, with a null status unless the
 * response had started. A pipelined request behind a response that closed the connection
 * is not processed, and {@link logSkippedRequest} logs it instead.
 *
 * Install this before other `onRequest` hooks, so that a request that fails in one of
 * them is logged too.
 */
export function installRequestLogging(app: FastifyInstance): void {
  // Both hooks call done() instead of being async: an async hook costs each request
  // a promise and a turn of the microtask queue.
  app.addHook('onRequest', (request, reply, done) => {
    // A response emits 'close' once, so `on` is enough and skips the wrapper of `once`.
    reply.raw.on('close', () => {
      // A response sent in full emits 'finish' first, and the onResponse hook logs it.
      if (!reply.raw.writableFinished && !skippedRequests.has(request)) {
        logUnfinishedRequest(request, reply);
      }
    });
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const fields = requestFields(request, reply.statusCode, reply.elapsedTime);
    if (reply.statusCode >= 500 && reply.statusCode !== NOT_IMPLEMENTED_STATUS) {
      request.log.error(fields, 'request completed');
    } else {
      request.log.info(fields, 'request completed');
    }
    done();
  });
}

/** Requests that {@link logSkippedRequest} logged, which get no other log line. */
const skippedRequests = new WeakSet<FastifyRequest>();

/**
 * Logs, once and at info level, a request that the server does not process because its
 * connection is closing, with a null status. Its response is never sent.
 */
export function logSkippedRequest(request: FastifyRequest, reply: FastifyReply): void {
  skippedRequests.add(request);
  request.log.info(
    requestFields(request, null, reply.elapsedTime),
    'request not processed because the connection is closing',
  );
}

function logUnfinishedRequest(request: FastifyRequest, reply: FastifyReply): void {
  // respondToClientError sent a response on the socket, such as a 408 after a request timeout.
  const clientErrorStatus = clientErrorStatusOf(request.socket);
  if (clientErrorStatus !== undefined) {
    request.log.info(
      requestFields(request, clientErrorStatus, reply.elapsedTime),
      'request completed',
    );
    return;
  }

  const status = reply.raw.headersSent ? reply.statusCode : null;
  request.log.info(
    requestFields(request, status, reply.elapsedTime),
    'connection closed before the response was sent',
  );
}

function requestFields(request: FastifyRequest, status: number | null, elapsedMs: number) {
  // Fastify builds a new routeOptions object on each read, so it is read once.
  const { config, url } = request.routeOptions;
  return {
    operation: config.operationId ?? null,
    method: request.method,
    route: url ?? null,
    status,
    duration_ms: Math.round(elapsedMs),
    remote_address: request.ip,
  };
}
