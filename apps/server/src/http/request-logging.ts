import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { DestinationStream, Level } from 'pino';

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
 * Adds an `onResponse` hook that logs one line per request: operation id, method,
 * route pattern (such as `/crypto/provisions`, never the URL, whose query string
 * can hold a share hash), status and duration. 5xx responses are logged at error
 * level and the rest at info.
 */
export function installRequestLogging(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const fields = {
      operation: request.routeOptions.config.operationId ?? null,
      method: request.method,
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) {
      request.log.error(fields, 'request completed');
    } else {
      request.log.info(fields, 'request completed');
    }
  });
}
