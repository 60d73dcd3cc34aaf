import type { SchemaError } from './schema-compiler.js';

/**
 * Error thrown when a response body does not match its schema in the API
 * description. It means a bug in the server, so the request fails with a 500 and
 * the error is logged. The message lists the failing locations, not the values.
 */
export class ResponseValidationError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_RESPONSE_SCHEMA';

  constructor(method: string, url: string, status: string, errors: readonly SchemaError[]) {
    const reasons = errors.map(
      (error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`,
    );
    super(
      `response to ${method} ${url} with status ${status} does not match the API description: ${reasons.join('; ')}`,
    );
    this.name = 'ResponseValidationError';
  }
}
