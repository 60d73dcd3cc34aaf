import type { RedeemedProvision } from '@provisions/api';
import { identityOf, organizationIdOf } from '../auth/authentication.js';
import { HttpProblem } from '../errors/http-problem.js';
import type { OperationRouter } from '../http/operation-router.js';
import type { ServerContext } from '../server-context.js';

/**
 * Registers `DELETE /organizations/{oid}/provisions/{public_key}` (revoke) and
 * `GET /crypto/provisions` (redeem).
 */
export function registerProvisionRoutes(router: OperationRouter, context: ServerContext): void {
  const { store, clock } = context;

  router.add<{ Params: { oid: string; public_key: string } }>({
    operationId: 'revokeProvision',
    method: 'DELETE',
    url: '/organizations/:oid/provisions/:public_key',
    access: 'organization',
    handler: async (request, reply) => {
      const organizationId = organizationIdOf(request);
      const { oid, public_key: publicKey } = request.params;
      if (oid !== organizationId) {
        throw new HttpProblem('notFound', `organization ${oid} not found`);
      }

      // Revoking twice returns 204 both times, because the caller owns the provision
      // and a retried DELETE must not fail. Pending invitations sealed to it are deleted.
      await store.writeTransaction(async (tx) => {
        const provision = await tx.provisions.findByPublicKey(publicKey);
        if (provision === undefined || provision.organization_id !== organizationId) {
          throw new HttpProblem('notFound', `provision ${publicKey} not found`);
        }
        await tx.provisions.revoke(publicKey, clock().toISOString());
        await tx.cryptoActions.withdrawForProvision(publicKey);
      });
      return reply.code(204).send();
    },
  });

  router.add<{ Querystring: { user_key_share_hash: string } }>({
    operationId: 'redeemProvision',
    method: 'GET',
    url: '/crypto/provisions',
    access: 'identity',
    handler: async (request, reply) => {
      const { email } = identityOf(request);
      const provision = await store.provisions.findByShareHash(request.query.user_key_share_hash);

      // Another person's provision, a revoked one and a missing one get the same 404.
      if (provision === undefined || provision.email !== email || provision.revoked_at !== null) {
        throw new HttpProblem(
          'notFound',
          'no provision with this user_key_share_hash is addressed to you',
        );
      }

      const redeemed: RedeemedProvision = {
        public_key: provision.public_key,
        misakey_key_share: provision.misakey_key_share,
        created_at: provision.created_at,
      };
      return reply.send(redeemed);
    },
  });
}
