import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /** Forward the request and return the response. */
  | 'pass'
  /** Forward the request, then close the connection instead of returning the response. */
  | 'drop-response'
  /** Read the request and never respond, like a server that stopped. */
  | 'hold'
  /**
   * Return this status without forwarding, with a problem+json body whose detail is `detail`
   * (`injected` by default) and the `Retry-After` header `retryAfter` (`0` by default).
   */
  | { status: number; detail?: string; retryAfter?: string };

/**
 * Returns the method and the API path template of a request, such as
 * `POST /boxes/{id}/events`, so that a fault can be chosen per kind of request.
 */
export function requestKind(method: string, path: string): string {
  const template = path
    .replace(/^\/organizations\/[^/]+\/boxes$/, '/organizations/{oid}/boxes')
    .replace(/^\/boxes\/[^/]+\/events$/, '/boxes/{id}/events');
  return `${method} ${template}`;
}

/** A proxy on 127.0.0.1 in front of a real server that injects failures. */
export interface FaultProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts an HTTP proxy to `targetUrl`. `choose` decides, per request, whether
 * to pass it, to answer with an error status without forwarding, or to
 * forward it and drop the response (so the server stored the request but the
 * client never learns it). A function as `targetUrl` is called for each
 * forwarded request, right after `choose`, so that a test can move the
 * requests to another server mid-run.
 */
export async function startFaultProxy(
  targetUrl: string | (() => string),
  choose: (method: string, path: string) => Fault,
): Promise<FaultProxy> {
  const server = createServer(async (incoming, outgoing) => {
    const body = await readBody(incoming);
    const fault = choose(incoming.method ?? 'GET', (incoming.url ?? '/').split('?')[0] as string);

    if (fault === 'hold') {
      return;
    }
    if (typeof fault === 'object') {
      outgoing.writeHead(fault.status, {
        'content-type': 'application/problem+json',
        'retry-after': fault.retryAfter ?? '0',
      });
      outgoing.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Injected',
          status: fault.status,
          detail: fault.detail ?? 'injected',
        }),
      );
      return;
    }

    const target = new URL(typeof targetUrl === 'string' ? targetUrl : targetUrl());
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: target.host },
      },
      (response) => {
        if (fault === 'drop-response') {
          response.resume();
          response.on('end', () => outgoing.socket?.destroy());
          return;
        }
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.socket?.destroy());
    forwarded.end(body);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
