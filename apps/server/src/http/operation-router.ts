import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  LogLevel,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify';
import { pino } from 'pino';
import type { OperationAccess } from '../auth/principal.js';
import type { OpenApiDocument } from '../openapi/openapi-document.js';
import {
  listOperations,
  type OperationDefinition,
  type OperationMethod,
} from '../openapi/operation-schema.js';
import { decimalQueryIntegersCheck } from './query-integers.js';
import type { OperationRouteConfig } from './route-config.js';

/** A route written in a resource's route file, bound to one operation of the API description. */
export interface OperationRoute<Route extends RouteGenericInterface> {
  /** `operationId` in the API description; the schemas come from that operation. */
  operationId: string;
  /** HTTP method, which must be the operation's. */
  method: OperationMethod;
  /** Fastify path such as `/boxes/:id`, which must be the operation's path. */
  url: string;
  /** Principals allowed to call it. */
  access: OperationAccess;
  /**
   * Requests one client address may make per minute; no limit when absent. A `HEAD`
   * request on a `GET` route counts toward the same limit.
   */
  requestsPerMinute?: number;
  /** Adds the RFC 6749 `error` code to error responses (an OAuth token endpoint). */
  oauthErrors?: boolean;
  /**
   * Level below which the lines logged for its requests are dropped. It applies only when
   * it is above the server's level.
   */
  logLevel?: LogLevel;
  /** Handles a request that passed authentication and schema validation. */
  handler: (request: FastifyRequest<Route>, reply: FastifyReply) => Promise<unknown>;
}

/**
 * Registers routes on a Fastify instance with the request and response schemas of
 * their operation in the API description. Each route states its method and path,
 * and registration fails when they differ from the description, so the route files
 * stay readable and cannot drift from the contract.
 *
 * @example
 * const router = new OperationRouter(app, document);
 * router.add({ operationId: 'getBox', method: 'GET', url: '/boxes/:id', access: 'any', handler });
 * router.assertComplete();
 */
export class OperationRouter {
  readonly #app: FastifyInstance;
  readonly #operations: Map<string, OperationDefinition>;
  readonly #registered = new Set<string>();

  constructor(app: FastifyInstance, document: OpenApiDocument) {
    this.#app = app;
    this.#operations = new Map(
      listOperations(document).map((operation) => [operation.operationId, operation]),
    );
  }

  /**
   * Registers one route.
   *
   * @throws Error when the operation is missing from the description, was already
   * registered, or has another method or path, or when it has a rate limit and
   * `@fastify/rate-limit` is not registered.
   */
  add<Route extends RouteGenericInterface>(route: OperationRoute<Route>): void {
    const operation = this.#operations.get(route.operationId);
    if (operation === undefined) {
      throw new Error(`operation ${route.operationId} is not in the API description`);
    }
    if (this.#registered.has(route.operationId)) {
      throw new Error(`operation ${route.operationId} is registered twice`);
    }

    const expectedUrl = operation.path.replace(/\{([^}]+)\}/g, ':$1');
    if (operation.method !== route.method || expectedUrl !== route.url) {
      throw new Error(
        `operation ${route.operationId} is ${operation.method} ${expectedUrl} in the API ` +
          `description, not ${route.method} ${route.url}`,
      );
    }

    if (route.requestsPerMinute !== undefined && !this.#app.hasDecorator('rateLimit')) {
      throw new Error(
        `register @fastify/rate-limit before adding ${route.operationId}, which has a rate limit`,
      );
    }

    const config: OperationRouteConfig = {
      operationId: operation.operationId,
      access: route.access,
      requestContentTypes: operation.requestContentTypes,
      headerNames: operation.headerNames,
      oauthErrors: route.oauthErrors ?? false,
    };
    // Fastify copies a GET route's options, this hook included, to the HEAD route it adds,
    // so both count toward one limit. A `config.rateLimit` would give each its own count.
    const rateLimitHook =
      route.requestsPerMinute === undefined
        ? undefined
        : this.#app.rateLimit({ max: route.requestsPerMinute, timeWindow: 60_000 });
    // The handler's request type states what the schemas below guarantee, which
    // Fastify's types cannot infer from JSON schemas loaded at run time.
    this.#app.route({
      method: route.method,
      url: route.url,
      schema: operation.schema,
      ...(operation.integerQueryParameters.length === 0
        ? {}
        : { preValidation: decimalQueryIntegersCheck(operation.integerQueryParameters) }),
      ...(rateLimitHook === undefined ? {} : { onRequest: rateLimitHook }),
      ...(raisesLogLevel(this.#app, route.logLevel) ? { logLevel: route.logLevel } : {}),
      config,
      handler: route.handler as unknown as RouteHandlerMethod,
    });
    this.#registered.add(route.operationId);
  }

  /** @throws Error naming every operation of the description that has no route. */
  assertComplete(): void {
    const missing = [...this.#operations.keys()].filter((id) => !this.#registered.has(id));
    if (missing.length > 0) {
      throw new Error(`operations without a route: ${missing.join(', ')}`);
    }
  }
}

/**
 * Returns whether the server logs lines at `level`. Only then does giving a route that
 * level drop lines: below the server's level, Fastify would make the route log more.
 */
function raisesLogLevel(app: FastifyInstance, level: LogLevel | undefined): boolean {
  if (level === undefined) {
    return false;
  }
  // A server without a logger has no level, and logs nothing anyway.
  const serverLevel = pino.levels.values[app.log.level];
  return serverLevel !== undefined && (pino.levels.values[level] ?? 0) >= serverLevel;
}
