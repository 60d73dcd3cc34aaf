import type { Identity, PublicKeyLookup } from '@provisions/api';
import { identityOf, organizationIdOf } from '../auth/authentication.js';
import { HttpProblem } from '../errors/http-problem.js';
import { requireEmailInput } from '../http/email-input.js';
import type { OperationRouter } from '../http/operation-router.js';
import type { ServerContext } from '../server-context.js';

/**
 * Registers `GET /identities/me`, `PUT /identities/me/public-key` and
 * `GET /identities/public-keys`.
 */
export function registerIdentityRoutes(router: OperationRouter, context: ServerContext): void {
  const { store } = context;

  router.add({
    operationId: 'getMyIdentity',
    method: 'GET',
    url: '/identities/me',
    access: 'identity',
    handler: async (request, reply) => {
      const identity: Identity | undefined = await store.identities.findById(
        identityOf(request).identityId,
      );
      if (identity === undefined) {
        throw new HttpProblem('notFound', 'the signed-in identity no longer exists');
      }
      return reply.send(identity);
    },
  });

  router.add<{ Body: { public_key: string } }>({
    operationId: 'setMyPublicKey',
    method: 'PUT',
    url: '/identities/me/public-key',
    access: 'identity',
    handler: async (request, reply) => {
      const { identityId } = identityOf(request);
      const publicKey = request.body.public_key;

      const identity: Identity = await store.writeTransaction(async (tx) => {
        const owner = await tx.identities.findByPublicKey(publicKey);
        const inUse =
          (owner !== undefined && owner.id !== identityId) ||
          (await tx.provisions.findByPublicKey(publicKey)) !== undefined;
        if (inUse) {
          throw new HttpProblem(
            'keyInUse',
            'this public key is already in use; generate a new key pair',
            {
              errors: [{ pointer: '/public_key', detail: 'is already in use' }],
            },
          );
        }

        await tx.identities.setPublicKey(identityId, publicKey);
        const updated = await tx.identities.findById(identityId);
        if (updated === undefined) {
          throw new HttpProblem('notFound', 'the signed-in identity no longer exists');
        }
        return updated;
      });
      return reply.send(identity);
    },
  });

  router.add<{ Querystring: { identifier: string } }>({
    operationId: 'lookUpPublicKeys',
    method: 'GET',
    url: '/identities/public-keys',
    access: 'organization',
    handler: async (request, reply) => {
      const organizationId = organizationIdOf(request);
      const email = requireEmailInput(request.query.identifier, { parameter: 'identifier' });

      const provision = await store.provisions.findActiveByEmail(organizationId, email);
      const identity = await store.identities.findByEmail(email);
      const lookup: PublicKeyLookup = {
        identifier: email,
        identity_public_key: identity?.public_key ?? null,
        provisions:
          provision === undefined
            ? []
            : [{ public_key: provision.public_key, created_at: provision.created_at }],
      };
      return reply.send(lookup);
    },
  });
}
