import { PROBLEM_TYPES, type ProblemTypeName } from './problem-types.js';

/**
 * The location of an invalid input, and what was expected. Exactly one of `pointer`
 * (RFC 6901 JSON Pointer into the request body), `parameter` (a path or query
 * parameter name) or `header` (a request header name) is set.
 */
export type InvalidParam =
  | { pointer: string; detail: string }
  | { parameter: string; detail: string }
  | { header: string; detail: string };

/** Fields of a problem response beyond `type`, `title`, `status` and `instance`. */
export interface HttpProblemOptions {
  /** The invalid inputs, one entry each. */
  errors?: InvalidParam[];
  /** Extra members of the problem object, such as `existing_public_key`. */
  extensions?: Record<string, string>;
  /** Response headers to send with the problem, such as `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/**
 * An error that becomes an `application/problem+json` response. Route handlers
 * throw it; the error handler turns it into the response body.
 *
 * @example
 * throw new HttpProblem('notFound', 'box not found');
 */
export class HttpProblem extends Error {
  /** Registry entry: `type`, `title`, `status`. */
  readonly problemType: (typeof PROBLEM_TYPES)[ProblemTypeName];
  /** Description of what went wrong with this request, for the `detail` member. It never contains a secret value. */
  readonly detail: string;
  /** Invalid inputs, for the `errors` member. */
  readonly errors: InvalidParam[] | undefined;
  /** Extra problem members. */
  readonly extensions: Record<string, string>;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  constructor(name: ProblemTypeName, detail: string, options: HttpProblemOptions = {}) {
    super(detail);
    this.name = 'HttpProblem';
    this.problemType = PROBLEM_TYPES[name];
    this.detail = detail;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  /** The HTTP status code of this problem. */
  get statusCode(): number {
    return this.problemType.status;
  }
}
