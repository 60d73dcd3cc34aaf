import type { HttpProblem } from './http-problem.js';

const PROBLEM_JSON = 'application/problem+json';

/** An RFC 6749 §5.2 error code that the token endpoint sends. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

/**
 * Returns the RFC 6749 §5.2 `error` code for a problem of a token endpoint, which
 * OAuth client libraries read and report. A 401 is `invalid_client`. A 400 is
 * `unsupported_grant_type` when `grant_type` is a string other than
 * `client_credentials`, and `invalid_request` otherwise. Other statuses have no code.
 */
export function oauthErrorCode(problem: HttpProblem, body: unknown): OAuthErrorCode | undefined {
  if (problem.statusCode === 401) {
    return 'invalid_client';
  }
  if (problem.statusCode !== 400) {
    return undefined;
  }

  const grantType =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>).grant_type
      : undefined;
  return typeof grantType === 'string' && grantType !== 'client_credentials'
    ? 'unsupported_grant_type'
    : 'invalid_request';
}

/**
 * Picks the media type of a token error. RFC 6749 §5.2 specifies `application/json`, and
 * some OAuth client libraries accept nothing else. So a request whose `Accept` names
 * `application/json` but neither `application/problem+json` nor a wildcard gets that type.
 * Every other request gets `application/problem+json`, like the rest of the API, and the
 * body is the same problem object either way.
 */
export function oauthErrorMediaType(accept: string | undefined): string {
  const ranges = (accept ?? '')
    .split(',')
    .map((range) => (range.split(';')[0] ?? '').trim().toLowerCase());
  const json = ranges.includes('application/json');
  const problemOrWildcard = ranges.some((range) =>
    [PROBLEM_JSON, '*/*', 'application/*'].includes(range),
  );
  return json && !problemOrWildcard ? 'application/json' : PROBLEM_JSON;
}
