/** Organization credentials, as `createOrganization` returns them. */
export interface OrganizationCredentials {
  id: string;
  client_secret: string;
}

/**
 * Sends `POST /oauth/token` for `credentials` to the server at `baseUrl`, as a form.
 *
 * @param signal - Aborts the request, such as `AbortSignal.timeout(…)`; default none.
 */
export function requestOrganizationToken(
  baseUrl: string,
  credentials: OrganizationCredentials,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.id,
      client_secret: credentials.client_secret,
    }),
    signal: signal ?? null,
  });
}
