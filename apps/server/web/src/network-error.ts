/**
 * A request that got no HTTP response: the network is down, the server is not
 * reachable, or the request was blocked. Retrying the same step may work.
 */
export class NetworkError extends Error {
  constructor(options?: ErrorOptions) {
    super('the request got no response from the server', options);
    this.name = 'NetworkError';
  }
}

/**
 * Wraps `fetch` so that a failure to get any response is a {@link NetworkError},
 * which the page can tell apart from an HTTP error response.
 */
export function fetchOrNetworkError(request: Request): Promise<Response> {
  return fetch(request).catch((cause: unknown) => {
    throw new NetworkError({ cause });
  });
}
