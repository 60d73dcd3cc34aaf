/**
 * Typed HTTP client for the crypto provisions API: an openapi-fetch client generated from the
 * OpenAPI document, its error model and the email normalization the server applies.
 *
 * @packageDocumentation
 */

export { ApiArgumentError } from './argument-error.js';
export { createBearerTokenMiddleware, type TokenSource } from './bearer-token.js';
export {
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './client.js';
export { normalizeEmail } from './email.js';
export { EmailAddressError, type EmailAddressErrorReason } from './email-address-error.js';
export { ApiError, isApiError, unwrap } from './errors.js';
export type { components, operations, paths } from './generated/schema.js';
export { type OrganizationCredentials, requestOrganizationToken } from './organization-token.js';
export { PROBLEM_MEDIA_TYPE, problemFromResponse } from './problem.js';
export { type ApiOperation, ApiTimeoutError, UnexpectedResponseError } from './request-errors.js';
export type {
  AccessToken,
  Box,
  BoxCreation,
  BoxCrypto,
  BoxJoinRequest,
  BoxJoinResult,
  CryptoAction,
  CryptoActionPage,
  Event,
  EventCreation,
  EventPage,
  HealthStatus,
  Identity,
  InvalidParam,
  JoinedBox,
  Problem,
  ProvisionCreation,
  PublicKeyLookup,
  PublicKeyLookupList,
  PublicKeyLookupRequest,
  RedeemedProvision,
  Session,
} from './schemas.js';
