import type { Identity, PublicKeyLookup } from '@provisions/api';
import { identityOf, organizationIdOf } from '../auth/authentication.js';
import { HttpProblem, type InvalidParam } from '../errors/http-problem.js';
import { normalizeEmailInput, requireEmailInput } from '../http/email-input.js';
import type { OperationRouter } from '../http/operation-router.js';
import { rejectLowOrderPublicKeys } from '../http/public-key-input.js';
import type { ServerContext } from '../server-context.js';

/**
 * Registers `GET /identities/me`, `PUT /identities/me/public-key`,
 * `GET /identities/public-keys` and `POST /identities/public-keys/lookups`.
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
      rejectLowOrderPublicKeys([{ pointer: '/public_key', publicKey }]);

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
      return reply.send(await lookUpPublicKeys(context, organizationId, email));
    },
  });

  router.add<{ Body: { identifiers: string[] } }>({
    operationId: 'lookUpManyPublicKeys',
    method: 'POST',
    url: '/identities/public-keys/lookups',
    access: 'organization',
    handler: async (request, reply) => {
      const organizationId = organizationIdOf(request);

      const emails: string[] = [];
      const errors: InvalidParam[] = [];
      for (const [index, identifier] of request.body.identifiers.entries()) {
        const result = normalizeEmailInput(identifier, { pointer: `/identifiers/${index}` });
        if ('error' in result) {
          errors.push(result.error);
        } else {
          emails.push(result.email);
        }
      }
      if (errors.length > 0) {
        throw new HttpProblem('invalidEmail', 'some email addresses are invalid; see errors', {
          errors,
        });
      }

      const items: PublicKeyLookup[] = [];
      for (const email of emails) {
        items.push(await lookUpPublicKeys(context, organizationId, email));
      }
      return reply.send({ items });
    },
  });
}

/** Returns the identity key and the organization's active provision known for a normalized email. */
async function lookUpPublicKeys(
  context: ServerContext,
  organizationId: string,
  email: string,
): Promise<PublicKeyLookup> {
  const { store } = context;
  const provision = await store.provisions.findActiveByEmail(organizationId, email);
  const identity = await store.identities.findByEmail(email);

  return {
    identifier: email,
    identity_public_key: identity?.public_key ?? null,
    provisions:
      provision === undefined
        ? []
        : [{ public_key: provision.public_key, created_at: provision.created_at }],
  };
}
