/**
 * The provisions API server: Fastify on SQLite or PostgreSQL, with routes, validation and
 * errors derived from the OpenAPI description.
 *
 * @packageDocumentation
 */

export type { Clock } from './clock.js';
export {
  type CreateOrganizationOptions,
  createOrganization,
  type OrganizationCredentials,
} from './create-organization.js';
export { DatabaseVersionError } from './database/database-version-error.js';
export { DATABASE_FILE_NAME } from './database/open-database.js';
export { DatabaseConnectionError } from './database/postgres-database.js';
export { InvalidOptionError } from './errors/invalid-option-error.js';
export { PROBLEM_TYPES, type ProblemType } from './errors/problem-types.js';
export type { ServerLoggerOptions } from './http/request-logging.js';
export { OUTBOX_FILE_NAME, type SignInCodeMessage } from './mail/outbox-mailer.js';
export { type RunningServer, type StartServerOptions, startServer } from './server.js';
