import { problemFromResponse } from './problem.js';
import type { InvalidParam, Problem } from './schemas.js';

/** The `code` of every `ApiError`. */
const API_ERROR_CODE = 'ERR_API_RESPONSE';

/** How many `errors[]` entries the message lists before it only counts the rest. */
const MAX_LISTED_ERRORS = 10;

/**
 * An error response of the provisions API, with its problem details (RFC 9457).
 *
 * The message reads `HTTP <status> <title>: <detail>`, then one `<where>: <detail>` per
 * `errors[]` entry (at most 10 listed), where `<where>` is the JSON Pointer into the request
 * body, `parameter <name>` or `header <name>`.
 *
 * @example
 * ```ts
 * try {
 *   unwrap(await client.POST('/organizations/{oid}/boxes', { params, body }));
 * } catch (error) {
 *   if (isApiError(error) && error.status === 409) {
 *     reuse(error.problem.existing_public_key);
 *   }
 * }
 * ```
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  /** Always `ERR_API_RESPONSE`, so callers can tell this error from a network failure. */
  readonly code = API_ERROR_CODE;

  /** HTTP status of the response, or the problem's `status` when there was no response. */
  readonly status: number;

  /** Problem details from the body, or built from the status when the body had none. */
  readonly problem: Problem;

  /** The response, for its headers (`Retry-After`, `WWW-Authenticate`); its body is read. */
  readonly response: Response | undefined;

  /**
   * @param problem - the problem details, as `problemFromResponse()` builds them.
   * @param response - the response they came from, if any.
   */
  constructor(problem: Problem, response?: Response) {
    const status = response === undefined ? problem.status : response.status;
    super(formatProblemMessage(status, problem));

    this.status = status;
    this.problem = problem;
    this.response = response;
  }
}

/**
 * Tells whether `value` is an `ApiError`, also one created by another copy of this package.
 *
 * @param value - anything caught.
 * @returns true for an `ApiError`.
 */
export function isApiError(value: unknown): value is ApiError {
  if (value instanceof ApiError) {
    return true;
  }

  return (
    value instanceof Error &&
    (value as { code?: unknown }).code === API_ERROR_CODE &&
    typeof (value as { status?: unknown }).status === 'number' &&
    typeof (value as { problem?: unknown }).problem === 'object'
  );
}

/**
 * Returns the data of a successful openapi-fetch result, or throws the error response as an
 * `ApiError`.
 *
 * Success is decided by `response.ok` (status 200–299). A 204 response returns `undefined`.
 *
 * @param result - what an `ApiClient` method resolved to.
 * @returns `result.data`.
 * @throws ApiError for any other status, with the body's problem details, or, when the body is
 *   not `application/problem+json` (a proxy's HTML page, an empty body), an `about:blank`
 *   problem that describes the body.
 * @example
 * ```ts
 * const box = unwrap(await client.GET('/boxes/{id}', { params: { path: { id } } }));
 * ```
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) {
    return result.data as T;
  }

  throw new ApiError(problemFromResponse(result.error, result.response), result.response);
}

function formatProblemMessage(status: number, problem: Problem): string {
  let message = `HTTP ${status} ${problem.title}`;
  if (problem.detail !== '' && problem.detail !== problem.title) {
    message += `: ${problem.detail}`;
  }

  const errors = problem.errors ?? [];
  if (errors.length === 0) {
    return message;
  }

  const listed = errors.slice(0, MAX_LISTED_ERRORS).map(formatInvalidParam);
  if (errors.length > MAX_LISTED_ERRORS) {
    listed.push(`${errors.length - MAX_LISTED_ERRORS} more`);
  }

  return `${message} [${listed.join('; ')}]`;
}

function formatInvalidParam(entry: InvalidParam): string {
  if (entry.pointer !== undefined) {
    return `${entry.pointer === '' ? 'body' : entry.pointer}: ${entry.detail}`;
  }
  if (entry.parameter !== undefined) {
    return `parameter ${entry.parameter}: ${entry.detail}`;
  }
  if (entry.header !== undefined) {
    return `header ${entry.header}: ${entry.detail}`;
  }

  return entry.detail;
}
