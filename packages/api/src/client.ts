import createClient, { type Client } from 'openapi-fetch';
import { ApiArgumentError, describeType } from './argument-error.js';
import { createBearerTokenMiddleware, type TokenSource } from './bearer-token.js';
import type { paths } from './generated/schema.js';

/**
 * A typed client for every operation of the provisions API (openapi-fetch 0.17). Each method
 * returns `{ data, error, response }` and throws only when the request cannot be sent; pass the
 * result to `unwrap()` to get the data or an `ApiError`.
 */
export type ApiClient = Client<paths>;

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
}

/**
 * Creates a typed client for the provisions API.
 *
 * @param options - `baseUrl`, and optionally `token` and `fetch`.
 * @returns an openapi-fetch client whose paths, parameters and bodies are checked against the
 *   OpenAPI document.
 * @throws ApiArgumentError (a `TypeError`, code `ERR_INVALID_ARGUMENT`) if `options` is not an
 *   object, `baseUrl` is not an http or https URL (or, in a browser, a path such as `/api`),
 *   `token` is not a string, a function or `undefined`, or `fetch` is not a function or
 *   `undefined`.
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

  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });

  if (options.token !== undefined) {
    client.use(createBearerTokenMiddleware(options.token));
  }

  return client;
}

/** The URL of the page this code runs in, in a browser or worker, else `undefined`. */
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
