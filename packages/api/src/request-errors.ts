/** An operation of the API: the HTTP method and the path template of the OpenAPI document. */
export interface ApiOperation {
  /** HTTP method in upper case, such as `POST`. */
  method: string;
  /** Path template from the OpenAPI document, such as `/boxes/{id}`, so it contains no ids. */
  path: string;
}

/**
 * A request that got no complete response within the client's time limit (`timeoutMs` of
 * `createApiClient`, 30 s by default). The server accepted the connection, or the connection
 * is still being made, and nothing, or only part of the response, arrived in time.
 *
 * @example
 * ```ts
 * try {
 *   await client.GET('/identities/me');
 * } catch (error) {
 *   if (error instanceof ApiTimeoutError) {
 *     console.error(`no response after ${error.timeoutMs} ms`);
 *   }
 * }
 * ```
 */
export class ApiTimeoutError extends Error {
  override readonly name = 'ApiTimeoutError';

  /** Always `ERR_API_TIMEOUT`. */
  readonly code = 'ERR_API_TIMEOUT';

  /** HTTP method of the request, such as `POST`. */
  readonly method: string;

  /** Path template of the operation, such as `/boxes/{id}`. */
  readonly path: string;

  /** The time limit that expired, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param operation - the operation that timed out.
   * @param timeoutMs - the time limit in milliseconds.
   * @param options - `cause`: the error the transport raised when the request was aborted.
   */
  constructor(operation: ApiOperation, timeoutMs: number, options?: ErrorOptions) {
    super(
      `${operation.method} ${operation.path}: the server did not respond within ` +
        `${timeoutMs / 1000} s; check the base URL and that the server is running, or give ` +
        'createApiClient a larger timeoutMs',
      options,
    );
    this.method = operation.method;
    this.path = operation.path;
    this.timeoutMs = timeoutMs;
  }
}
