import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const ALLOWED_METHODS = 'GET, POST, PUT, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Idempotency-Key';
const EXPOSED_HEADERS = 'Location, Retry-After, WWW-Authenticate, X-Request-Id';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Adds the preflight headers to the response of an `OPTIONS` request, and returns
 * whether the request was a CORS preflight from the web app's origin. The caller
 * sends the 204 when it was.
 */
export type PreflightResponder = (request: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * Lets the web app at `appUrl` call the API from a browser: responses to requests
 * from that origin get `Access-Control-Allow-Origin`. Other origins get no CORS
 * headers, so browsers keep their pages from reading responses.
 *
 * @param appUrl - URL of the web app; only its origin matters.
 * @returns The responder for preflights, which allow the API's methods and headers on
 *   any path; `registerOptionsRoute` calls it.
 */
export function installCors(app: FastifyInstance, appUrl: string): PreflightResponder {
  const allowedOrigin = new URL(appUrl).origin;

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('vary', 'Origin');
    if (request.headers.origin === allowedOrigin) {
      reply.header('access-control-allow-origin', allowedOrigin);
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
    done();
  });

  return (request, reply) => {
    // A browser's preflight names the method of the request it is about to send.
    const isPreflight =
      request.headers.origin === allowedOrigin &&
      request.headers['access-control-request-method'] !== undefined;
    if (isPreflight) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    return isPreflight;
  };
}
