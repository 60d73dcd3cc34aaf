import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { logSkippedRequest } from './request-logging.js';

/** The response to one request on a connection, and who waits for it to end. */
interface ResponseTurn {
  ended: boolean;
  /** Runs the request pipelined right behind this one, once this response ended. */
  next: (() => void) | undefined;
}

/** The turn of the latest request on each connection whose response has not ended yet. */
const latestTurns = new WeakMap<Socket, ResponseTurn>();

/**
 * Adds an `onRequest` hook that runs requests pipelined on one connection one at a time.
 * Node.js reads every request of a pipelined batch at once and emits each one, so without
 * it the handlers of all of them would run together. A request waits in this hook until
 * the response to the one before it has been sent or its connection has closed.
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
    const previous = latestTurns.get(socket);
    const turn: ResponseTurn = { ended: false, next: undefined };
    latestTurns.set(socket, turn);

    const end = () => {
      if (turn.ended) {
        return;
      }
      turn.ended = true;
      if (latestTurns.get(socket) === turn) {
        latestTurns.delete(socket);
      }
      turn.next?.();
    };
    // Each event is emitted at most once, so `on` is enough and skips the wrapper of `once`.
    reply.raw.on('finish', end);
    reply.raw.on('close', end);

    const proceed = () => {
      if (isClosing(socket)) {
        reply.hijack();
        logSkippedRequest(request, reply);
        end();
        return;
      }
      done();
    };
    if (previous === undefined || previous.ended) {
      proceed();
    } else {
      previous.next = proceed;
    }
  });
}

/**
 * Returns whether no response can be sent on the connection any more. Node.js ends the
 * socket in its own 'finish' listener of a response with `Connection: close`, which runs
 * before the listeners added here. It may still parse requests that arrived with that
 * response's request, in the same or a later chunk.
 */
function isClosing(socket: Socket): boolean {
  return socket.destroyed || socket.writableEnded;
}
