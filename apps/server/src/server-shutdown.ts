import type { FastifyInstance } from 'fastify';

/**
 * Stops a listening app within a grace period. It logs `server stopping`, stops accepting
 * connections and closes the idle ones at once. Requests in progress, and requests that
 * arrive on the connections still open, get `gracePeriodMs` to finish, and the caller's hook
 * adds `Connection: close` to their responses. Then the connections still open are closed,
 * and the app's `onClose` hooks run, which close the database.
 *
 * @param gracePeriodMs - Milliseconds that requests in progress get to finish.
 * @returns A promise that settles when the app is closed, as `app.close()` does.
 */
export async function closeWithGracePeriod(
  app: FastifyInstance,
  gracePeriodMs: number,
): Promise<void> {
  app.log.info({ grace_period_ms: gracePeriodMs }, 'server stopping');

  // A client whose request never ends, such as one that stopped sending its body,
  // would otherwise keep the server open until its request timeout.
  const timer = setTimeout(() => {
    app.log.warn(
      { grace_period_ms: gracePeriodMs },
      'shutdown grace period ended, closing the connections still open',
    );
    app.server.closeAllConnections();
  }, gracePeriodMs);

  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
