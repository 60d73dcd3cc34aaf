import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_TYPES, type ProblemType } from '../errors/problem-types.js';

/** Node.js parser error codes, and the problem each becomes. */
const PARSER_PROBLEMS: Record<string, { problemType: ProblemType; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    problemType: PROBLEM_TYPES.headerFieldsTooLarge,
    detail: 'the request line and headers are larger than the server accepts; shorten the URL',
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
 * problem+json response, and closes the connection. The response has no request id:
 * a request that Node.js could not parse never reaches Fastify, and a timed-out one
 * may not have either.
 *
 * The connection is closed without a response in two cases. A response to the request
 * may have started already, because the server can send a 401 before the rest of the body
 * arrives. Or the client closed its side of the connection in the middle of a request.
 */
export function respondToClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // NOTE: `_httpMessage` is the response in progress on the socket. It is not a public
  // Node.js API, but Node's own default handler reads it for this same check.
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || response?.headersSent === true || error.code === CLIENT_CLOSED_CODE) {
    socket.destroy();
    return;
  }

  const known = error.code === undefined ? undefined : PARSER_PROBLEMS[error.code];
  const { problemType, detail } = known ?? {
    problemType: PROBLEM_TYPES.malformedRequest,
    detail: 'the request is not valid HTTP/1.1',
  };
  const body = JSON.stringify({ ...problemType, detail });

  clientErrorStatuses.set(socket, problemType.status);
  socket.end(
    [
      `HTTP/1.1 ${problemType.status} ${problemType.title}`,
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
