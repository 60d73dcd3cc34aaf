import type { CryptoActionPage } from '@provisions/api';
import { identityOf } from '../auth/authentication.js';
import { HttpProblem } from '../errors/http-problem.js';
import type { OperationRouter } from '../http/operation-router.js';
import { type CursorScope, paginate } from '../http/page-cursor.js';
import type { ServerContext } from '../server-context.js';

/** Registers `GET /crypto/actions` and `DELETE /crypto/actions/{id}`. */
export function registerCryptoActionRoutes(router: OperationRouter, context: ServerContext): void {
  const { store, clock, cursors } = context;

  router.add<{
    Querystring: { encryption_public_key?: string; cursor?: string; limit: number };
  }>({
    operationId: 'listCryptoActions',
    method: 'GET',
    url: '/crypto/actions',
    access: 'identity',
    handler: async (request, reply) => {
      const addressee = identityOf(request);
      const { encryption_public_key: key, limit } = request.query;
      const scope: CursorScope = {
        operation: 'listCryptoActions',
        caller: `identity:${addressee.identityId}`,
        filter: key ?? '',
      };
      const after = cursors.decode(request.query.cursor, scope);

      const rows = await store.cryptoActions.listPending(
        addressee,
        { after, limit: limit + 1 },
        key,
      );
      const page: CryptoActionPage = paginate(rows, limit, (position) =>
        cursors.encode(position, scope),
      );
      return reply.send(page);
    },
  });

  router.add<{ Params: { id: string } }>({
    operationId: 'deleteCryptoAction',
    method: 'DELETE',
    url: '/crypto/actions/:id',
    access: 'identity',
    handler: async (request, reply) => {
      const addressee = identityOf(request);
      const { id } = request.params;

      // Acknowledging twice returns 204 both times, so a retried DELETE does not fail.
      await store.writeTransaction(async (tx) => {
        if ((await tx.cryptoActions.findPending(addressee, id)) !== undefined) {
          await tx.cryptoActions.acknowledge(id, clock().toISOString());
        } else if ((await tx.cryptoActions.findAcknowledged(addressee, id)) === undefined) {
          throw new HttpProblem('notFound', `crypto action ${id} not found`);
        }
      });
      return reply.code(204).send();
    },
  });
}
