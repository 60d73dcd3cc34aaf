import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { logSkippedRequest } from './request-logging.js';

/** Requests waiting for an earlier response on each connection, released if it closes. */
const waitingRequests = new WeakMap<Socket, Set<() => void>>();

/**
 * Adds an `onRequest` hook that runs requests pipelined on one connection one at a time.
 * Node.js reads every request of a pipelined batch at once and emits each one, so without
 * it the handlers of all of them would run together. A request waits in this hook until
 * the response to the one before it has been sent or its connection has closed.
 *
 * The hook relies on how Node.js (checked with 20) queues responses: a response gets its
 * connection (`response.socket`) at once when no earlier response on it is pending, and
 * otherwise when the earlier ones have finished, with a 'socket' event. A response that
 * closes the connection gives it to none of the queued ones.
 *
 * When that response closed the connection (`Connection: close` after an error, or the
 * connection broke), the waiting request is not processed: it is logged once by
 * {@link logSkippedRequest} and gets no response. RFC 9112 section 9.6 forbids processing
 * requests after the one whose response closes the connection, and a client may retry
 * the unanswered ones on a new connection because nothing of them ran.
 *
 * Install it before the hooks that check or act on a request, so none of them runs early.
 */
export function installPipelinedRequestOrder(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const { socket } = request.raw;
    if (reply.raw.socket !== null || socket.destroyed) {
      proceed(request, reply, done);
      return;
    }

    let waiting = waitingRequests.get(socket);
    if (waiting === undefined) {
      const requests = new Set<() => void>();
      socket.once('close', () => {
        waitingRequests.delete(socket);
        for (const release of requests) {
          release();
        }
      });
      waitingRequests.set(socket, requests);
      waiting = requests;
    }
    // Runs once, on the response's 'socket' event or the connection's 'close', whichever is
    // first: only the first call finds itself in the set.
    const release = () => {
      if (waiting.delete(release)) {
        proceed(request, reply, done);
      }
    };
    waiting.add(release);
    reply.raw.once('socket', release);
  });
}

function proceed(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (isClosing(request.raw.socket)) {
    reply.hijack();
    logSkippedRequest(request, reply);
    return;
  }
  done();
}

/**
 * Returns whether no response can be sent on the connection any more. Node.js ends the
 * socket in its own 'finish' listener of a response with `Connection: close`. It may
 * still parse requests that arrived with that response's request, in the same or a later
 * chunk, and gives their responses the closing connection.
 */
function isClosing(socket: Socket): boolean {
  return socket.destroyed || socket.writableEnded;
}
