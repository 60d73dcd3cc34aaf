/**
 * Error thrown by {@link startServer} and {@link createOrganization} for an option
 * of the wrong type or out of range. The message names the option and what was
 * expected.
 */
export class InvalidOptionError extends TypeError {
  /** Stable error code. */
  readonly code = 'ERR_INVALID_OPTION';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidOptionError';
  }
}
