/**
 * A sign-in email that the mailer failed to send, with the mailer's error as `cause`. The
 * error handler turns it into a 503 with `Retry-After`.
 */
export class MailDeliveryError extends Error {
  /**
   * The error of undoing the code request after the failure, if that failed too. The
   * request then still counts toward the address's hourly limit.
   */
  readonly rollbackError: unknown;

  constructor(cause: unknown, rollbackError?: unknown) {
    super('the sign-in email could not be sent', { cause });
    this.name = 'MailDeliveryError';
    this.rollbackError = rollbackError;
  }
}
