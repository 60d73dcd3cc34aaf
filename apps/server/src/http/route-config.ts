import type { OperationAccess, Principal } from '../auth/principal.js';

/** Fastify `config` of every route registered from the API description. */
export interface OperationRouteConfig {
  /** `operationId` of the operation in the API description. */
  operationId: string;
  /** Principals allowed to call the operation. */
  access: OperationAccess;
  /** Media types the request body may have; empty when the operation takes no body. */
  requestContentTypes: string[];
  /** Header parameter names as the API description spells them, by lower-case name. */
  headerNames: Record<string, string>;
  /** Whether error responses carry the RFC 6749 `error` code, as a token endpoint's do. */
  oauthErrors: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig extends Partial<OperationRouteConfig> {}

  interface FastifyRequest {
    /** The authenticated caller; null on public operations and before authentication. */
    principal: Principal | null;
  }
}
