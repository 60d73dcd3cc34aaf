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

/**
 * A response with a success status (2xx) whose body is not what the API documents for the
 * operation: HTML or text where JSON belongs, JSON that does not parse, or a token response
 * without a required member. It usually means that the base URL points to another server,
 * such as a web page or a proxy, instead of the provisions API. `@provisions/core` raises it
 * too, for a response whose content breaks what the operation promises, such as a join
 * response with other boxes than requested.
 */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';

  /** Always `ERR_API_UNEXPECTED_RESPONSE`. */
  readonly code = 'ERR_API_UNEXPECTED_RESPONSE';

  /** HTTP method of the request, such as `POST`. */
  readonly method: string;

  /** Path template of the operation, such as `/oauth/token`. */
  readonly path: string;

  /** The response, for its status and headers; its body is read. */
  readonly response: Response | undefined;

  /**
   * @param operation - the operation whose response was unexpected.
   * @param detail - what the response contained and what was expected, without secrets.
   * @param options - `response` it came from and the `cause`, such as a `SyntaxError`.
   */
  constructor(
    operation: ApiOperation,
    detail: string,
    options?: ErrorOptions & { response?: Response | undefined },
  ) {
    super(`${operation.method} ${operation.path}: ${detail}`, options);
    this.method = operation.method;
    this.path = operation.path;
    this.response = options?.response;
  }
}
