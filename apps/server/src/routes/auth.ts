import type { AccessToken, Session } from '@provisions/api';
import { issueAccessToken } from '../auth/access-tokens.js';
import { readClientCredentials, verifyClientCredentials } from '../auth/client-credentials.js';
import { redeemSignInCode, sendSignInCode } from '../auth/email-sign-in.js';
import { requireEmailInput } from '../http/email-input.js';
import type { OperationRouter } from '../http/operation-router.js';
import { ORGANIZATION_TOKEN_TTL_SECONDS, PERSON_TOKEN_TTL_SECONDS } from '../limits.js';
import type { ServerContext } from '../server-context.js';

/** Registers `POST /oauth/token`, `POST /auth/email-codes` and `POST /auth/sessions`. */
export function registerAuthRoutes(router: OperationRouter, context: ServerContext): void {
  const { store, clock } = context;

  router.add<{
    Body: { grant_type: 'client_credentials'; client_id?: string; client_secret?: string };
  }>({
    operationId: 'createToken',
    method: 'POST',
    url: '/oauth/token',
    access: 'public',
    oauthErrors: true,
    requestsPerMinute: context.signInRequestsPerMinute,
    handler: async (request, reply) => {
      const credentials = readClientCredentials(request.headers.authorization, request.body);
      const organizationId = await verifyClientCredentials(store, credentials);

      const token: AccessToken = await store.writeTransaction((tx) =>
        issueAccessToken(
          tx,
          clock,
          { kind: 'organization', organizationId },
          ORGANIZATION_TOKEN_TTL_SECONDS,
        ),
      );
      return reply.header('cache-control', 'no-store').code(200).send(token);
    },
  });

  router.add<{ Body: { email: string } }>({
    operationId: 'sendEmailCode',
    method: 'POST',
    url: '/auth/email-codes',
    access: 'public',
    requestsPerMinute: context.signInRequestsPerMinute,
    handler: async (request, reply) => {
      const email = requireEmailInput(request.body.email, { pointer: '/email' });
      const expiresAt = await sendSignInCode(context, email);
      return reply.code(202).send({ expires_at: expiresAt });
    },
  });

  router.add<{ Body: { email: string; code: string } }>({
    operationId: 'createSession',
    method: 'POST',
    url: '/auth/sessions',
    access: 'public',
    requestsPerMinute: context.signInRequestsPerMinute,
    handler: async (request, reply) => {
      const email = requireEmailInput(request.body.email, { pointer: '/email' });

      const session: Session = await redeemSignInCode(
        context,
        email,
        request.body.code,
        async (identity, tx) => ({
          ...(await issueAccessToken(
            tx,
            clock,
            { kind: 'identity', identityId: identity.id, email: identity.email },
            PERSON_TOKEN_TTL_SECONDS,
          )),
          identity,
        }),
      );
      return reply.header('cache-control', 'no-store').code(201).send(session);
    },
  });
}
