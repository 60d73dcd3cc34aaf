import createClient, { type Client } from 'openapi-fetch';
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
   * Root URL of the API, such as `http://127.0.0.1:8080`; a trailing slash is ignored. A browser
   * page may give a path on its own origin, such as `/api`.
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
 * @throws TypeError if `baseUrl` is not a non-empty string, or `token` is not a string, a
 *   function or `undefined`.
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
  if (typeof options.baseUrl !== 'string' || options.baseUrl === '') {
    throw new TypeError('baseUrl must be a non-empty string, such as "http://127.0.0.1:8080"');
  }

  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });

  if (options.token !== undefined) {
    client.use(createBearerTokenMiddleware(options.token));
  }

  return client;
}
