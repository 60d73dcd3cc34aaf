import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { PROBLEM_TYPES, type ProblemType } from '../errors/problem-types.js';

/** Node.js parser error codes, and the problem each becomes. */
const PARSER_PROBLEMS: Record<string, { problemType: ProblemType; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    problemType: PROBLEM_TYPES.headerFieldsTooLarge,
    detail:
      'the request line and headers are larger than the server accepts; shorten the URL or the headers',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    problemType: PROBLEM_TYPES.requestTimeout,
    detail: 'the request did not arrive in time; send it again',
  },
};

/**
 * Node.js parser error code of a connection that the client closed before its request
 * was complete. The client is gone, so the server closes its side without a response.
 */
const CLIENT_CLOSED_CODE = 'HPE_INVALID_EOF_STATE';

/** Status of the response that {@link respondToClientError} sent on a connection. */
const clientErrorStatuses = new WeakMap<Socket, number>();

/** Fastify request id of each response that Fastify has started to handle. */
const requestIds = new WeakMap<ServerResponse, string>();

/**
 * Records the Fastify request id of a response, so that {@link respondToClientError}
 * gives a request that times out during its body the id that its log line has.
 */
export function recordRequestId(response: ServerResponse, requestId: string): void {
  requestIds.set(response, requestId);
}

/**
 * Returns the status that {@link respondToClientError} sent on a connection, such as the
 * 408 of a request that timed out, or undefined when it sent nothing there.
 */
export function clientErrorStatusOf(socket: Socket): number | undefined {
  return clientErrorStatuses.get(socket);
}

/**
 * Responds to a request that Node.js could not parse (an oversized URL or header,
 * broken HTTP syntax) or that did not arrive within the request timeout, with a
 * problem+json response, and closes the connection. Fastify calls it with the
 * application as `this`.
 *
 * The response's `instance` and `X-Request-Id` are the Fastify request id when Fastify
 * has started to handle the request, as for a body that stops arriving, and the request
 * logging then writes its line. Otherwise Fastify never saw the request, so the id is a
 * new UUID, and this function logs `request rejected before routing` with that id.
 *
 * The connection is closed without a response in two cases. A response to the request
 * may have started already, because the server can send a 401 before the rest of the body
 * arrives, or because the request is pipelined behind one whose response is in progress.
 * The connection then closes once that response is written. Or the client closed its side
 * of the connection in the middle of a request, and the connection is closed at once.
 */
export function respondToClientError(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  // NOTE: `_httpMessage` is the response in progress on the socket. It is not a public
  // Node.js API, but Node's own default handler reads it for this same check.
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || error.code === CLIENT_CLOSED_CODE) {
    socket.destroy();
    return;
  }
  if (response?.headersSent === true) {
    // A request that is not valid HTTP, pipelined behind a response in progress, is logged
    // only here, and only by its code. Closing after that response lets the client read it all.
    this.log.info(
      { error_code: error.code ?? null },
      'pipelined request is not valid HTTP, closing the connection after the response in progress',
    );
    if (response.writableFinished) {
      socket.end();
    } else {
      response.once('finish', () => socket.end());
    }
    return;
  }

  const known = error.code === undefined ? undefined : PARSER_PROBLEMS[error.code];
  const { problemType, detail } = known ?? {
    problemType: PROBLEM_TYPES.malformedRequest,
    detail: 'the request is not valid HTTP/1.1',
  };
  const knownId =
    response === null || response === undefined ? undefined : requestIds.get(response);
  const requestId = knownId ?? randomUUID();
  if (knownId === undefined) {
    // The error's message and raw packet may quote the request, so only its code is logged.
    this.log.info(
      { request_id: requestId, status: problemType.status, error_code: error.code ?? null },
      'request rejected before routing',
    );
  }
  const body = JSON.stringify({ ...problemType, detail, instance: requestId });

  clientErrorStatuses.set(socket, problemType.status);
  socket.end(
    [
      `HTTP/1.1 ${problemType.status} ${problemType.title}`,
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `Date: ${new Date().toUTCString()}`,
      `X-Request-Id: ${requestId}`,
      'Cache-Control: no-store',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
