import { randomUUID } from 'node:crypto';
import formBody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { installAuthentication } from './auth/authentication.js';
import { installErrorHandlers, sendProblem } from './errors/error-handler.js';
import { HttpProblem } from './errors/http-problem.js';
import {
  allowedMethodsLookup,
  registerLiteralPathMethods,
  registerOptionsRoute,
} from './http/allowed-methods.js';
import { recordRequestId, respondToClientError } from './http/client-error.js';
import { installContentTypeCheck } from './http/content-type-check.js';
import { installCors } from './http/cors.js';
import { parseFormBody } from './http/form-body.js';
import { installJsonBodyParser } from './http/json-body.js';
import { OperationRouter } from './http/operation-router.js';
import { installPipelinedRequestOrder } from './http/pipelined-requests.js';
import { installQueryStringCheck, parseQueryString } from './http/query-string.js';
import {
  RECIPIENT_ASSETS_PATH,
  RECIPIENT_PAGE_PATH,
  RECIPIENT_PAGE_SLASH_PATH,
  registerRecipientPage,
} from './http/recipient-page.js';
import { REFERENCE_PAGE_PATH, registerReferencePage } from './http/reference-page.js';
import { installRequestFramingChecks } from './http/request-framing.js';
import {
  installRequestLogging,
  loggerOption,
  type ServerLoggerOptions,
} from './http/request-logging.js';
import { installSingletonHeaderCheck } from './http/singleton-headers.js';
import {
  BODY_LIMIT_BYTES,
  CONNECTION_IDLE_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  REQUEST_TIMEOUT_CHECK_INTERVAL_MS,
  REQUEST_TIMEOUT_MS,
} from './limits.js';
import type { JsonSchema, OpenApiDocument } from './openapi/openapi-document.js';
import { ResponseValidationError } from './openapi/response-validation.js';
import { SchemaCompiler } from './openapi/schema-compiler.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerBoxRoutes } from './routes/boxes.js';
import { registerCryptoActionRoutes } from './routes/crypto-actions.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIdentityRoutes } from './routes/identities.js';
import { registerProvisionRoutes } from './routes/provisions.js';
import type { ServerContext } from './server-context.js';

/** Path of the OpenAPI document that the server validates against. */
const OPENAPI_DOCUMENT_PATH = '/openapi.json';

/** Longest path parameter the router matches; ids and keys are at most 43 characters. */
const MAX_PATH_PARAMETER_LENGTH = 100;

/** Inputs of {@link buildApp}. */
export interface AppOptions {
  document: OpenApiDocument;
  context: ServerContext;
  logger: boolean | ServerLoggerOptions | undefined;
  /** Reverse proxies whose `X-Forwarded-For` gives the client address; default none. */
  trustedProxies?: string[];
  /** Milliseconds a client has to send a whole request; default {@link REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
}

/**
 * Builds the Fastify application: request validation and response checking from
 * the API description's schemas, authentication, problem+json errors, request
 * logging, CORS for the web app, one route per operation, the recipient
 * page at `/join`, and the API reference page at `/docs`.
 *
 * @throws Error when a route does not match the API description or an operation has no route.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { document, context } = options;
  const schemas = new SchemaCompiler(document);
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;

  const app = Fastify({
    logger: loggerOption(options.logger),
    bodyLimit: BODY_LIMIT_BYTES,
    // A request that is still arriving after requestTimeout gets 408 from
    // respondToClientError. Node.js also limits the headers alone, and would refuse a
    // headersTimeout above requestTimeout.
    requestTimeout,
    http: {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: REQUEST_TIMEOUT_CHECK_INTERVAL_MS,
      // installSingletonHeaderCheck sends a problem instead of Node's empty 400.
      requireHostHeader: false,
    },
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: CONNECTION_IDLE_TIMEOUT_MS,
    genReqId: () => randomUUID(),
    // Fastify's own request lines include the URL; installRequestLogging writes them instead.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    // RFC 9110 section 9.1 requires HEAD wherever GET is supported. Fastify adds a HEAD
    // route with the same options and hooks for every GET route, and sends the GET status
    // and headers, Content-Length included, without the body.
    exposeHeadRoutes: true,
    trustProxy: options.trustedProxies ?? false,
    // A request that arrives on an open connection after close() started is served, with
    // `Connection: close`. No new connection arrives by then, and Fastify 5 runs the onClose
    // hook that closes the database only after the HTTP server closed its last connection.
    // Fastify's 503 for such a request has a plain JSON body, not a problem, and drops it.
    return503OnClosing: false,
    clientErrorHandler: respondToClientError,
    routerOptions: {
      maxParamLength: MAX_PATH_PARAMETER_LENGTH,
      // Marks a malformed query string, which installQueryStringCheck rejects.
      querystringParser: parseQueryString,
    },
    // Fastify calls this before routing, for a URL it cannot decode or a path
    // parameter over the router's length limit (whose messages would quote the URL),
    // or a failed route constraint, which this server never sets.
    frameworkErrors: (error, request, reply) => {
      if (error.code === 'FST_ERR_BAD_URL') {
        const problem = new HttpProblem(
          'malformedRequest',
          'the URL is not valid percent-encoded UTF-8',
        );
        sendProblem(request, reply, problem);
        return;
      }
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        const problem = new HttpProblem(
          'notFound',
          `no operation matches ${request.method} on this path, because a path segment is over ${MAX_PATH_PARAMETER_LENGTH} characters`,
        );
        sendProblem(request, reply, problem);
        return;
      }
      request.log.error({ err: error }, 'request failed before routing');
      sendProblem(
        request,
        reply,
        new HttpProblem('internalError', 'the server failed to route the request'),
      );
    },
  });

  app.setValidatorCompiler(({ schema, httpPart }) =>
    schemas.compile(schema as JsonSchema, httpPart === 'body' ? 'body' : 'parameters'),
  );
  app.setSerializerCompiler(({ schema, method, url, httpStatus }) => {
    const validate = schemas.compile(schema as JsonSchema, 'response');
    return (data: unknown) => {
      if (!validate(data)) {
        throw new ResponseValidationError(
          method,
          url,
          httpStatus ?? 'default',
          validate.errors ?? [],
        );
      }
      return JSON.stringify(data);
    };
  });

  await app.register(formBody, { parser: parseFormBody });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(
        'tooManyRequests',
        `this client sent more than ${context.max} requests a minute to this operation; retry in ${context.after}`,
      ),
  });
  installJsonBodyParser(app);
  // First, so that a request failing in a later onRequest hook is logged too.
  installRequestLogging(app);

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    recordRequestId(reply.raw, request.id);
    done();
  });
  installPipelinedRequestOrder(app);
  installRequestFramingChecks(app);
  const answerPreflight =
    context.appUrl === undefined ? undefined : installCors(app, context.appUrl);
  // After CORS, so that the browser can read the 400; before authentication, as for a
  // malformed path.
  installSingletonHeaderCheck(app);
  installQueryStringCheck(app);
  installAuthentication(app, context.store, context.clock);
  installContentTypeCheck(app);
  const allowedMethodsOf = allowedMethodsLookup(document, [
    RECIPIENT_PAGE_PATH,
    RECIPIENT_PAGE_SLASH_PATH,
    `${RECIPIENT_ASSETS_PATH}{name}`,
    REFERENCE_PAGE_PATH,
    OPENAPI_DOCUMENT_PATH,
  ]);
  installErrorHandlers(
    app,
    (request) => request.routeOptions.config.headerNames ?? {},
    allowedMethodsOf,
  );

  const router = new OperationRouter(app, document);
  registerAuthRoutes(router, context);
  registerIdentityRoutes(router, context);
  registerBoxRoutes(router, context);
  registerProvisionRoutes(router, context);
  registerCryptoActionRoutes(router, context);
  registerHealthRoutes(router, context);
  router.assertComplete();
  registerLiteralPathMethods(app, document);
  registerOptionsRoute(app, allowedMethodsOf, answerPreflight);
  await registerRecipientPage(app);
  await registerReferencePage(app);

  // The API description this server validates against, for clients and tools.
  app.get(OPENAPI_DOCUMENT_PATH, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').type('application/json').send(document),
  );

  return app;
}
