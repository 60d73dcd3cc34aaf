import createClient, { type Client } from 'openapi-fetch';
import { ApiArgumentError, describeType } from './argument-error.js';
import { createBearerTokenMiddleware, type TokenSource } from './bearer-token.js';
import { checkResponses } from './checked-client.js';
import type { paths } from './generated/schema.js';

/**
 * A typed client for every operation of the provisions API (openapi-fetch 0.17). Each method
 * returns `{ data, error, response }` and throws only when the request cannot be sent, gets no
 * response in time, or gets a success response whose body is not JSON; pass the result to
 * `unwrap()` to get the data or an `ApiError`.
 */
export type ApiClient = Client<paths>;

/** Default time limit of each request of a client, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * The maximum delay of Node.js and browser timers, 2^31 - 1 ms (about 24.8 days). A longer
 * delay overflows, and Node.js then fires the timer after 1 ms.
 */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Options of `createApiClient()`. */
export interface ApiClientOptions {
  /**
   * Root URL of the API, an http or https URL such as `http://127.0.0.1:8080`, without user
   * name, password, query or fragment; a trailing slash is ignored. A browser page may give a
   * path on its own origin, such as `/api`.
   */
  baseUrl: string;

  /**
   * Bearer token sent as `Authorization: Bearer <token>`: a string, or a function called before
   * each request. Omit it for a client that only signs in.
   */
  token?: TokenSource | undefined;

  /** `fetch` implementation; defaults to `globalThis.fetch` as it is when the client is created. */
  fetch?: ((request: Request) => Promise<Response>) | undefined;

  /**
   * Time limit of each call of a client method, in milliseconds: from the call until the
   * response body is read. A call over the limit aborts its request and rejects with
   * `ApiTimeoutError`. 30,000 (30 s) by default; `0` or `Infinity` turns the limit off, for a
   * `fetch` that has a time limit of its own. A whole number up to 2,147,483,647.
   */
  timeoutMs?: number | undefined;
}

/**
 * Creates a typed client for the provisions API.
 *
 * @param options - `baseUrl`, and optionally `token`, `fetch` and `timeoutMs`.
 * @returns an openapi-fetch client whose paths, parameters and bodies are checked against the
 *   OpenAPI document.
 * @throws ApiArgumentError (a `TypeError`, code `ERR_INVALID_ARGUMENT`) for an invalid option.
 *   That is `options` that is not an object, or a `baseUrl` that is not an http or https URL
 *   (in a browser, a path such as `/api` is valid too). It is also a `token` or `fetch` of
 *   another type, or a `timeoutMs` out of range.
 * @example
 * ```ts
 * import { createApiClient, unwrap } from '@provisions/api';
 *
 * let token: string | undefined;
 * const client = createApiClient({ baseUrl: 'http://127.0.0.1:8080', token: () => token });
 * const box = unwrap(await client.GET('/boxes/{id}', { params: { path: { id: boxId } } }));
 * ```
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  if (typeof options !== 'object' || options === null) {
    throw new ApiArgumentError(
      `options must be an object such as { baseUrl: "http://127.0.0.1:8080" }, received ${describeType(options)}`,
    );
  }
  checkBaseUrl(options.baseUrl);
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ApiArgumentError(
      `fetch must be a function or undefined, received ${describeType(options.fetch)}`,
    );
  }
  const timeoutMs = checkTimeout(options.timeoutMs);

  const transport = options.fetch ?? globalThis.fetch;
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: transport });

  if (options.token !== undefined) {
    client.use(createBearerTokenMiddleware(options.token));
  }

  return checkResponses(client, { fetch: transport, timeoutMs });
}

/** Returns the URL of the page this code runs in, in a browser or worker, else `undefined`. */
function pageUrl(): string | undefined {
  const { location } = globalThis as { location?: { href?: unknown } };
  return typeof location?.href === 'string' ? location.href : undefined;
}

function checkBaseUrl(baseUrl: unknown): void {
  if (typeof baseUrl !== 'string' || baseUrl === '') {
    throw new ApiArgumentError(
      'baseUrl must be a non-empty string, such as "http://127.0.0.1:8080"',
    );
  }

  // The value is never quoted, because a URL may carry a password.
  const page = pageUrl();
  const isPath = baseUrl.startsWith('/') && !baseUrl.startsWith('//');
  const base = isPath ? page : undefined;
  if (!URL.canParse(baseUrl, base)) {
    const pathHint = isPath
      ? '; a path such as "/api" works only in a browser page'
      : ', and this string is not a URL';
    throw new ApiArgumentError(
      `baseUrl must be an http or https URL, such as "http://127.0.0.1:8080"${pathHint}`,
    );
  }

  const url = new URL(baseUrl, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiArgumentError(
      `baseUrl must be an http or https URL, such as "http://127.0.0.1:8080", not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ApiArgumentError('baseUrl must not contain a user name or password');
  }
  if (url.search !== '' || url.hash !== '' || baseUrl.includes('?') || baseUrl.includes('#')) {
    throw new ApiArgumentError('baseUrl must not contain a query (?) or fragment (#)');
  }
}

/** Returns the time limit in milliseconds, or `undefined` when it is turned off. */
function checkTimeout(timeoutMs: unknown): number | undefined {
  if (timeoutMs === undefined) {
    return DEFAULT_REQUEST_TIMEOUT_MS;
  }
  if (timeoutMs === 0 || timeoutMs === Number.POSITIVE_INFINITY) {
    return undefined;
  }
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > MAX_TIMEOUT_MS
  ) {
    const received = typeof timeoutMs === 'number' ? String(timeoutMs) : describeType(timeoutMs);
    throw new ApiArgumentError(
      `timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, or 0 or ` +
        `Infinity for no time limit; received ${received}`,
    );
  }

  return timeoutMs;
}
