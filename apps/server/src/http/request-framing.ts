import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';
import { PROBLEM_TYPES } from '../errors/problem-types.js';
import { BODY_LIMIT_BYTES, CONNECTION_IDLE_TIMEOUT_MS } from '../limits.js';
import { rawProblemResponse } from './client-error.js';

/** Problems found in the `Expect` header before Fastify saw the request. */
type ExpectationProblem = 'expectationFailed' | 'contentTooLarge';

const expectationProblems = new WeakMap<IncomingMessage, ExpectationProblem>();

/**
 * Rejects requests whose message framing the server does not support, with a problem
 * that closes the connection, before authentication and before the body is read:
 *
 * - an `Expect` other than `100-continue` gets 417, where Node.js would send an empty 417;
 * - `Expect: 100-continue` with a `Content-Length` over {@link BODY_LIMIT_BYTES} gets 413
 *   without `100 Continue`, so the client does not send the body;
 * - a `Transfer-Encoding` with a coding other than chunked, such as `gzip, chunked`, gets
 *   501, because the server would read the body undecoded (RFC 9112 section 6.1);
 * - `CONNECT` gets 501, because the server is no proxy and implements no tunnel (RFC 9110
 *   sections 9.1 and 9.3.6). Node.js would close the connection without a response.
 *
 * The first three are requests that Fastify handles as usual, so they are logged and carry
 * their request id. A CONNECT request never reaches Fastify, so its response and its
 * `request completed` log line are written here, with a new request id.
 */
export function installRequestFramingChecks(app: FastifyInstance): void {
  const { server } = app;

  // With a 'checkContinue' listener, Node.js neither sends `100 Continue` nor emits
  // 'request' by itself, so both are done here.
  server.on('checkContinue', (request: IncomingMessage, response) => {
    if (Number(request.headers['content-length']) > BODY_LIMIT_BYTES) {
      expectationProblems.set(request, 'contentTooLarge');
    } else if (!hasCodingOtherThanChunked(request.headers['transfer-encoding'] ?? '')) {
      response.writeContinue();
    }
    server.emit('request', request, response);
  });
  server.on('checkExpectation', (request: IncomingMessage, response) => {
    expectationProblems.set(request, 'expectationFailed');
    server.emit('request', request, response);
  });
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    respondToConnect(app, request, socket);
  });

  app.addHook('onRequest', (request, _reply, done) => {
    const problem = framingProblem(request.raw);
    if (problem !== undefined) {
      throw problem;
    }
    done();
  });
}

function framingProblem(request: IncomingMessage): HttpProblem | undefined {
  const expectation = expectationProblems.get(request);
  if (expectation === 'expectationFailed') {
    return new HttpProblem(
      'expectationFailed',
      'the server meets no expectation but 100-continue; send the request without Expect',
      {
        errors: [{ header: 'Expect', detail: 'must be 100-continue or absent' }],
        headers: { connection: 'close' },
      },
    );
  }
  if (expectation === 'contentTooLarge') {
    return new HttpProblem(
      'contentTooLarge',
      'the request body is larger than the server accepts, as its Content-Length shows',
      {
        errors: [{ pointer: '', detail: 'is larger than the server accepts' }],
        headers: { connection: 'close' },
      },
    );
  }

  const transferEncoding = request.headers['transfer-encoding'];
  if (transferEncoding !== undefined && hasCodingOtherThanChunked(transferEncoding)) {
    return new HttpProblem(
      'notImplemented',
      'the request body has a transfer coding other than chunked, which the server cannot decode; send it with Content-Length or chunked alone',
      {
        errors: [
          {
            header: 'Transfer-Encoding',
            detail: 'must be chunked alone; the server decodes no other transfer coding',
          },
        ],
        headers: { connection: 'close' },
      },
    );
  }
  return undefined;
}

/**
 * Returns whether a `Transfer-Encoding` value, a comma-separated list of codings with
 * optional parameters, names a coding other than chunked. Empty list elements, which the
 * list syntax allows, are ignored.
 */
function hasCodingOtherThanChunked(value: string): boolean {
  return value.split(',').some((element) => {
    const coding = (element.split(';')[0] ?? '').trim().toLowerCase();
    return coding !== '' && coding !== 'chunked';
  });
}

/**
 * Sends a 501 problem for a CONNECT request and closes the connection. Node.js has already
 * detached the socket from the HTTP server, so its timeouts no longer apply to it.
 */
function respondToConnect(app: FastifyInstance, request: IncomingMessage, socket: Socket): void {
  const started = performance.now();
  const requestId = randomUUID();
  const problemType = PROBLEM_TYPES.notImplemented;

  // Tunnel bytes the client sends are read and dropped, so that closing the connection
  // does not reset it before the client has read the response.
  socket.resume();
  socket.on('error', (error) => app.log.debug({ err: error }, 'CONNECT connection failed'));
  socket.setTimeout(CONNECTION_IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.end(
    rawProblemResponse(
      problemType,
      'the server is not a proxy and does not implement CONNECT',
      requestId,
    ),
  );
  app.log.info(
    {
      request_id: requestId,
      operation: null,
      method: request.method,
      route: null,
      status: problemType.status,
      duration_ms: Math.round(performance.now() - started),
      // The peer: a CONNECT request is not routed, so Fastify's trusted proxies do not apply.
      remote_address: socket.remoteAddress ?? null,
    },
    'request completed',
  );
}
