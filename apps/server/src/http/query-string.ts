import { parse } from 'fast-querystring';
import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';
import { repeatedParametersProblem } from './repeated-parameters.js';

/**
 * The parse result of a query string in which some names or values are not valid
 * percent-encoded UTF-8. {@link installQueryStringCheck} rejects the request.
 */
export class MalformedQueryString {
  /**
   * @param parameters - Names of the parameters at fault, decoded where the name itself
   * decodes and as sent where it does not, each once, in order of appearance.
   */
  constructor(readonly parameters: readonly string[]) {}
}

/**
 * Parses a query string (without the `?`) as Fastify's default parser does: `+` is a
 * space, a name without `=` gets the empty string, and a repeated name gets an array
 * of its values. Unlike that parser, which keeps an undecodable name or value as it
 * was sent, this one returns a {@link MalformedQueryString} for them.
 *
 * A query string without `%` goes straight to the default parser, so the common
 * request pays for no decoding. Fastify calls this while it routes, before a request
 * id exists, and an exception thrown here would escape Fastify's error handling, so
 * the check reports instead of throwing.
 *
 * @example
 * const app = Fastify({ routerOptions: { querystringParser: parseQueryString } });
 */
export function parseQueryString(query: string): Record<string, unknown> {
  if (query.length === 0) {
    return {};
  }
  if (query.includes('%')) {
    const malformed = findMalformedParameters(query);
    if (malformed.length > 0) {
      // Fastify types the parser's result as a record, so the cast hides the class
      // until installQueryStringCheck tests for it.
      return new MalformedQueryString(malformed) as unknown as Record<string, unknown>;
    }
  }
  return parse(query);
}

/**
 * Adds an `onRequest` hook that rejects two kinds of query string with a 400
 * `malformed-request` problem that has one `errors` entry per parameter at fault: one
 * that {@link parseQueryString} found malformed, and, on an API operation, one that
 * gives a parameter more than once. Each query parameter of the API takes one value,
 * and schema validation would report a repeat as a wrong type. Pages ignore their
 * query string. The hook skips `OPTIONS`, so that a CORS preflight succeeds and the
 * browser then shows the actual request's 400.
 */
export function installQueryStringCheck(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const query: unknown = request.query;
    if (request.method === 'OPTIONS') {
      done();
      return;
    }

    if (query instanceof MalformedQueryString) {
      const errors = query.parameters.map((parameter) => ({
        parameter,
        detail: 'is not valid percent-encoded UTF-8',
      }));
      done(
        new HttpProblem('malformedRequest', 'the query string is not valid percent-encoded UTF-8', {
          errors,
        }),
      );
      return;
    }

    const repeatedNames = findRepeatedNames(query as Record<string, unknown>);
    // Fastify builds `routeOptions` on each read, so it is read only for a repeat.
    if (repeatedNames !== undefined && request.routeOptions.config.operationId !== undefined) {
      done(
        repeatedParametersProblem('query string', repeatedNames, (parameter) => ({ parameter })),
      );
      return;
    }
    done();
  });
}

/** Returns the names that parseQueryString gave an array of values, or undefined for none. */
function findRepeatedNames(values: Record<string, unknown>): string[] | undefined {
  let names: string[] | undefined;
  for (const name in values) {
    if (Array.isArray(values[name])) {
      names ??= [];
      names.push(name);
    }
  }
  return names;
}

function findMalformedParameters(query: string): string[] {
  const malformed = new Set<string>();

  for (const pair of query.split('&')) {
    if (!pair.includes('%')) {
      continue;
    }
    const separator = pair.indexOf('=');
    const rawName = separator === -1 ? pair : pair.slice(0, separator);
    const rawValue = separator === -1 ? '' : pair.slice(separator + 1);

    const name = decodeOrUndefined(rawName.replaceAll('+', ' '));
    if (name === undefined) {
      malformed.add(rawName);
    } else if (decodeOrUndefined(rawValue) === undefined) {
      malformed.add(name);
    }
  }
  return [...malformed];
}

/** Decodes a URI component, or returns undefined when it is not valid percent-encoded UTF-8. */
function decodeOrUndefined(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch (error) {
    if (error instanceof URIError) {
      return undefined;
    }
    throw error;
  }
}
