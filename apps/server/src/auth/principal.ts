/**
 * The caller of an authenticated request: an organization (client credentials
 * token) or a person signed in with an email code (an identity).
 */
export type Principal =
  | { kind: 'organization'; organizationId: string }
  | { kind: 'identity'; identityId: string; email: string };

/** Kind of principal an access token belongs to. */
export type PrincipalKind = Principal['kind'];

/**
 * Who may call an operation: nobody needs a token (`public`), one kind of
 * principal, or `any` authenticated principal.
 */
export type OperationAccess = 'public' | PrincipalKind | 'any';
