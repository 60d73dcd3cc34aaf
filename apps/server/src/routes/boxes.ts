import type {
  Box,
  BoxCreation,
  BoxJoinRequest,
  BoxJoinResult,
  EventCreation,
  EventPage,
} from '@provisions/api';
import { identityOf, organizationIdOf } from '../auth/authentication.js';
import type { Principal } from '../auth/principal.js';
import { findAccessibleBox } from '../boxes/box-access.js';
import { createBox } from '../boxes/box-creation.js';
import { postBoxEvent } from '../boxes/box-events.js';
import { boxEventsCursorScope } from '../boxes/box-events-cursor-scope.js';
import { joinBoxes } from '../boxes/box-joins.js';
import { HttpProblem } from '../errors/http-problem.js';
import type { OperationRouter } from '../http/operation-router.js';
import { paginate } from '../http/page-cursor.js';
import type { ServerContext } from '../server-context.js';

/**
 * Registers `POST /organizations/{oid}/boxes`, `GET /boxes/{id}`,
 * `GET /boxes/{id}/events`, `POST /boxes/{id}/events` and `POST /boxes/joins`.
 */
export function registerBoxRoutes(router: OperationRouter, context: ServerContext): void {
  const { store, cursors } = context;

  router.add<{
    Params: { oid: string };
    Headers: { 'idempotency-key'?: string };
    Body: BoxCreation;
  }>({
    operationId: 'createBox',
    method: 'POST',
    url: '/organizations/:oid/boxes',
    access: 'organization',
    handler: async (request, reply) => {
      const organizationId = organizationIdOf(request);
      if (request.params.oid !== organizationId) {
        throw new HttpProblem('notFound', `organization ${request.params.oid} not found`);
      }

      const idempotencyKey = request.headers['idempotency-key'];
      const { box, replayed } = await createBox(
        context,
        organizationId,
        request.body,
        idempotencyKey,
      );
      if (replayed) {
        reply.header('idempotent-replayed', 'true');
      }
      return reply.code(201).header('location', `/boxes/${box.id}`).send(box);
    },
  });

  router.add<{ Params: { id: string } }>({
    operationId: 'getBox',
    method: 'GET',
    url: '/boxes/:id',
    access: 'any',
    handler: async (request, reply) => {
      const { box } = await findAccessibleBox(
        store,
        principalOf(request.principal),
        request.params.id,
        ['owner', 'member', 'invited'],
      );
      const body: Box = box;
      return reply.send(body);
    },
  });

  router.add<{ Params: { id: string }; Querystring: { cursor?: string; limit: number } }>({
    operationId: 'listBoxEvents',
    method: 'GET',
    url: '/boxes/:id/events',
    access: 'any',
    handler: async (request, reply) => {
      const principal = principalOf(request.principal);
      const { box } = await findAccessibleBox(store, principal, request.params.id, [
        'owner',
        'member',
      ]);
      const { limit } = request.query;
      const scope = boxEventsCursorScope(principal, box.id);
      const after = cursors.decode(request.query.cursor, scope);

      const page: EventPage = paginate(
        await store.boxEvents.list(box.id, { after, limit: limit + 1 }),
        limit,
        (position) => cursors.encode(position, scope),
      );
      return reply.send(page);
    },
  });

  router.add<{ Params: { id: string }; Body: EventCreation }>({
    operationId: 'createBoxEvent',
    method: 'POST',
    url: '/boxes/:id/events',
    access: 'any',
    handler: async (request, reply) => {
      const event = await postBoxEvent(
        context,
        principalOf(request.principal),
        request.params.id,
        request.body,
      );
      return reply.code(201).send(event);
    },
  });

  router.add<{ Body: BoxJoinRequest }>({
    operationId: 'joinBoxes',
    method: 'POST',
    url: '/boxes/joins',
    access: 'identity',
    handler: async (request, reply) => {
      const result: BoxJoinResult = await joinBoxes(context, identityOf(request), request.body);
      return reply.send(result);
    },
  });
}

function principalOf(principal: Principal | null): Principal {
  if (principal === null) {
    throw new Error("box routes need access 'any', which sets request.principal");
  }
  return principal;
}
