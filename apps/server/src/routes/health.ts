import type { HealthStatus } from '@provisions/api';
import type { OperationRouter } from '../http/operation-router.js';
import type { ServerContext } from '../server-context.js';

const HEALTHY: HealthStatus = Object.freeze({ status: 'ok' });

/**
 * Registers `GET /health`, the health check of load balancers. It needs no token and
 * has no rate limit. A database error goes to the error handler like any other, so a
 * database that is unreachable or stays locked gets the 503 with `Retry-After`.
 */
export function registerHealthRoutes(router: OperationRouter, context: ServerContext): void {
  const { store } = context;

  router.add({
    operationId: 'getHealth',
    method: 'GET',
    url: '/health',
    access: 'public',
    // A balancer checks every few seconds, so successful checks are not logged. A 5xx
    // is still logged at error level.
    logLevel: 'warn',
    handler: async (_request, reply) => {
      await store.checkAvailable();
      return reply.header('cache-control', 'no-store').send(HEALTHY);
    },
  });
}
