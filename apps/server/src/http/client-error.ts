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

/** Node.js error code of a request that did not arrive within the request timeout. */
const REQUEST_TIMEOUT_CODE = 'ERR_HTTP_REQUEST_TIMEOUT';

/** Connections whose client error {@link respondToClientError} is already handling. */
const handledSockets = new WeakSet<Socket>();

/** Returns the response in progress on a connection, if any. */
function responseInProgress(socket: Socket): ServerResponse | undefined {
  // NOTE: `_httpMessage` is not a public Node.js API, but Node's own default handler
  // reads it for this same check.
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/**
 * Responds to a request that Node.js could not parse (an oversized URL or header,
 * broken HTTP syntax) or that did not arrive within the request timeout, with a
 * problem+json response, and closes the connection. Fastify calls it with the
 * application as `this`.
 *
 * Bytes that fail to parse after complete requests, such as a valid request followed by
 * text that is not HTTP in one write, get their response only after the responses to those
 * requests were sent in full. When one of those responses closes the connection, as after
 * a request with `Connection: close`, the bytes get no response. A request timeout gets
 * its 408 at once.
 *
 * The response's `instance` and `X-Request-Id` are the Fastify request id when Fastify
 * has started to handle the failing request, as for a body that stops arriving, and the
 * request logging then writes its line. Otherwise Fastify never saw the request, so the
 * id is a new UUID, and this function logs `request rejected before routing` with that id.
 *
 * The connection is closed without a response in two more cases. The response to the
 * failing request may have started already, because the server can send a 401 before the
 * rest of the body arrives. The connection then closes once that response is written. Or
 * the client closed its side of the connection in the middle of a request, and the
 * connection is closed at once.
 */
export function respondToClientError(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (!socket.writable || error.code === CLIENT_CLOSED_CODE) {
    socket.destroy();
    return;
  }
  // The parser reports its error again for each later chunk from the client.
  if (handledSockets.has(socket)) {
    return;
  }
  handledSockets.add(socket);
  respondAfterCompleteRequests(this, error, socket);
}

/**
 * Waits until no response to a completely received request is in progress on the
 * connection, then responds to the client error. Node.js detaches a response from the
 * socket and starts the next pipelined one in its own 'finish' listener, which runs before
 * the one added here, so a response still on the socket always emits 'finish' or 'close'.
 */
function respondAfterCompleteRequests(
  app: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (!socket.writable) {
    // A response before the bytes closed the connection, or the client went away.
    app.log.info(
      { error_code: error.code ?? null },
      'bytes after the last request on a closing connection were not processed',
    );
    return;
  }
  const response = responseInProgress(socket);
  if (response?.req.complete === true && error.code !== REQUEST_TIMEOUT_CODE) {
    const next = () => {
      response.off('finish', next);
      response.off('close', next);
      respondAfterCompleteRequests(app, error, socket);
    };
    response.on('finish', next);
    response.on('close', next);
    return;
  }

  if (response?.headersSent === true) {
    app.log.info(
      { error_code: error.code ?? null },
      'client error after the response started, closing the connection after the response',
    );
    if (response.writableFinished) {
      socket.end();
    } else {
      response.once('finish', () => socket.end());
    }
    return;
  }
  writeProblem(app, error, socket, response);
}

/** Writes the problem response for a client error on the socket, and ends the socket. */
function writeProblem(
  app: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
  response: ServerResponse | undefined,
): void {
  const known = error.code === undefined ? undefined : PARSER_PROBLEMS[error.code];
  const { problemType, detail } = known ?? {
    problemType: PROBLEM_TYPES.malformedRequest,
    detail: 'the request is not valid HTTP/1.1',
  };
  const knownId = response === undefined ? undefined : requestIds.get(response);
  const requestId = knownId ?? randomUUID();
  if (knownId === undefined) {
    // The error's message and raw packet may quote the request, so only its code is logged.
    app.log.info(
      { request_id: requestId, status: problemType.status, error_code: error.code ?? null },
      'request rejected before routing',
    );
  }
  clientErrorStatuses.set(socket, problemType.status);
  socket.end(rawProblemResponse(problemType, detail, requestId));
}

/**
 * Formats a whole HTTP/1.1 problem+json response with `Connection: close`, for a socket
 * that has no Node.js response object to write it.
 */
export function rawProblemResponse(
  problemType: ProblemType,
  detail: string,
  requestId: string,
): string {
  const body = JSON.stringify({ ...problemType, detail, instance: requestId });
  return [
    `HTTP/1.1 ${problemType.status} ${problemType.title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Date: ${new Date().toUTCString()}`,
    `X-Request-Id: ${requestId}`,
    'Cache-Control: no-store',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}
