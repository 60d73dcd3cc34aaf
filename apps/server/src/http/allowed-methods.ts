import type { OpenApiDocument } from '../openapi/openapi-document.js';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * Builds a look-up of the methods the API description declares for a concrete
 * request path, so a request with another method gets 405 and an `Allow`
 * header instead of 404.
 */
export function allowedMethodsLookup(document: OpenApiDocument): (path: string) => string[] {
  const templates = Object.entries(document.paths).map(([template, item]) => ({
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`,
    ),
    methods: Object.keys(item as object)
      .filter((key) => HTTP_METHODS.has(key))
      .map((key) => key.toUpperCase()),
  }));

  return (path) => templates.find(({ pattern }) => pattern.test(path))?.methods ?? [];
}
