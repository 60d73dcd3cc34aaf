/** Error thrown when the database was written by a newer server than this one. */
export class DatabaseVersionError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_DATABASE_VERSION';

  constructor(found: number, supported: number) {
    super(
      `database schema version ${found} is newer than this server supports (${supported}); ` +
        'upgrade the server',
    );
    this.name = 'DatabaseVersionError';
  }
}
