/**
 * A fake `fetch` for client tests: it records every Request it receives and responds with the
 * Response that `respond` builds. The client code under test runs unchanged on top of it.
 */
export interface FakeTransport {
  /** Pass this as the client's `fetch` option. */
  fetch: (request: Request) => Promise<Response>;

  /** Requests in the order they were sent. */
  requests: Request[];
}

/** Creates a fake transport that responds to each request with `respond(request)`. */
export function createFakeTransport(
  respond: (request: Request) => Response = () => jsonResponse(200, {}),
): FakeTransport {
  const requests: Request[] = [];

  return {
    requests,
    fetch: async (request: Request) => {
      requests.push(request);
      return respond(request);
    },
  };
}

/** Builds a Response with a JSON body and the given media type. */
export function jsonResponse(
  status: number,
  body: unknown,
  contentType = 'application/json',
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': contentType },
  });
}

/** Returns the only request the transport recorded, failing the test if there is not exactly one. */
export function onlyRequest(transport: FakeTransport): Request {
  const [request, ...rest] = transport.requests;
  if (request === undefined || rest.length > 0) {
    throw new Error(`expected exactly one request, got ${transport.requests.length}`);
  }

  return request;
}

/** Returns what `promise` rejected with, failing the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to reject');
}
