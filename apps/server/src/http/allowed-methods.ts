import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';
import type { OpenApiDocument } from '../openapi/openapi-document.js';
import type { PreflightResponder } from './cors.js';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** One path of the API description or of a page, as a pattern for concrete request paths. */
interface PathTemplate {
  template: string;
  pattern: RegExp;
  parameterCount: number;
  methods: string[];
}

function toPathTemplate(template: string, methods: string[]): PathTemplate {
  return {
    template,
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`,
    ),
    parameterCount: (template.match(/\{/g) ?? []).length,
    // registerOptionsRoute sends a 204 to OPTIONS on every known path.
    methods: [...methods.filter((method) => method !== 'OPTIONS'), 'OPTIONS'],
  };
}

/**
 * Returns the methods the server accepts for the operations of one path item: those it
 * declares, with `HEAD` after `GET`, because Fastify adds a `HEAD` route for every `GET` route.
 */
function methodsOfPathItem(item: object): string[] {
  const declared = Object.keys(item)
    .filter((key) => HTTP_METHODS.has(key))
    .map((key) => key.toUpperCase());
  if (!declared.includes('GET') || declared.includes('HEAD')) {
    return declared;
  }
  return declared.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]));
}

function listPathTemplates(document: OpenApiDocument): PathTemplate[] {
  const templates = Object.entries(document.paths).map(([template, item]) =>
    toPathTemplate(template, methodsOfPathItem(item as object)),
  );
  // A literal segment wins over a parameter, as in the router: `/boxes/joins`
  // is that path, not the box `joins`.
  return templates.sort((a, b) => a.parameterCount - b.parameterCount);
}

/** Methods of the pages and files that the server serves besides the API. */
const PAGE_METHODS = ['GET', 'HEAD'];

/**
 * Builds a look-up of the methods the server accepts on a concrete request path, so a
 * request with another method gets 405 and an `Allow` header instead of 404, and
 * `OPTIONS` gets 204 with that header. API paths get the methods their API description
 * declares, with `HEAD` wherever it declares `GET`, and `pagePaths` get `GET` and `HEAD`.
 * Every known path gets `OPTIONS` as well, and an unknown one gets no method. A path
 * that matches a literal template and a template with parameters, such as `/boxes/joins`
 * and `/boxes/{id}`, gets the methods of the literal one.
 *
 * @param pagePaths - Paths of the pages and files, with `{name}` for a path parameter.
 */
export function allowedMethodsLookup(
  document: OpenApiDocument,
  pagePaths: readonly string[] = [],
): (path: string) => string[] {
  const pages = pagePaths.map((template) => toPathTemplate(template, PAGE_METHODS));
  const templates = [...listPathTemplates(document), ...pages].sort(
    (a, b) => a.parameterCount - b.parameterCount,
  );
  return (path) => templates.find(({ pattern }) => pattern.test(path))?.methods ?? [];
}

/**
 * Registers `OPTIONS` on every path. A CORS preflight from the web app's origin gets the
 * 204 of `answerPreflight` on any path, so that the browser sends the actual request and
 * the page can read its response, a 404 included. Any other `OPTIONS` request gets 204
 * with `Allow` on a known path, and the 404 problem of an unknown path otherwise.
 *
 * @param allowedMethodsOf - The look-up of {@link allowedMethodsLookup}.
 * @param answerPreflight - The responder of `installCors`; absent when CORS is off.
 */
export function registerOptionsRoute(
  app: FastifyInstance,
  allowedMethodsOf: (path: string) => string[],
  answerPreflight?: PreflightResponder,
): void {
  app.options('*', async (request, reply) => {
    if (answerPreflight?.(request, reply) === true) {
      return reply.code(204).send();
    }

    const allowed = allowedMethodsOf(request.url.split('?')[0] ?? '');
    if (allowed.length === 0) {
      return reply.callNotFound();
    }
    return reply.code(204).header('allow', allowed.join(', ')).send();
  });
}

/**
 * The 405 problem for a request whose method the path does not accept, with the
 * `Allow` header listing `allowed`.
 *
 * @example
 * throw methodNotAllowed('GET', ['POST']);
 */
export function methodNotAllowed(method: string, allowed: readonly string[]): HttpProblem {
  return new HttpProblem(
    'methodNotAllowed',
    `this path accepts ${allowed.join(', ')}, not ${method}`,
    { headers: { allow: allowed.join(', ') } },
  );
}

/**
 * Registers 405 routes where a literal path of the API description would
 * otherwise be routed to a template with parameters: `GET /boxes/joins` would
 * reach `GET /boxes/{id}` and fail validation of `id`, although the path only
 * accepts `POST`. Each such method on the literal path returns 405 with `Allow`.
 */
export function registerLiteralPathMethods(app: FastifyInstance, document: OpenApiDocument): void {
  const templates = listPathTemplates(document);

  for (const literal of templates.filter(({ parameterCount }) => parameterCount === 0)) {
    const shadowed = new Set(
      templates
        .filter(
          ({ parameterCount, pattern }) => parameterCount > 0 && pattern.test(literal.template),
        )
        .flatMap(({ methods }) => methods)
        .filter((method) => !literal.methods.includes(method)),
    );

    for (const method of shadowed) {
      app.route({
        method,
        url: literal.template,
        // `shadowed` lists HEAD beside GET, and its route is registered on its own.
        exposeHeadRoute: false,
        handler: async (request) => {
          throw methodNotAllowed(request.method, literal.methods);
        },
      });
    }
  }
}
