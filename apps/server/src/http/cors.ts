import type { FastifyInstance } from 'fastify';

const ALLOWED_METHODS = 'GET, POST, PUT, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Idempotency-Key';
const EXPOSED_HEADERS = 'Location, Retry-After, WWW-Authenticate, X-Request-Id';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Lets the web app at `appUrl` call the API from a browser: responses to requests
 * from that origin get `Access-Control-Allow-Origin`, and `OPTIONS` preflight
 * requests on any path get a 204 that allows the API's methods and headers. Other
 * origins get no CORS headers, so browsers keep their pages from reading responses.
 *
 * @param appUrl - URL of the web app; only its origin matters.
 */
export function installCors(app: FastifyInstance, appUrl: string): void {
  const allowedOrigin = new URL(appUrl).origin;

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('vary', 'Origin');
    if (request.headers.origin === allowedOrigin) {
      reply.header('access-control-allow-origin', allowedOrigin);
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
    done();
  });

  app.options('*', async (request, reply) => {
    if (request.headers.origin === allowedOrigin) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    return reply.code(204).send();
  });
}
