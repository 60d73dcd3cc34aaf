import { describeNetworkErrorCode } from './error-report.js';

/**
 * A failure of the SMTP server as a whole, not of one recipient's address: the server cannot be
 * reached, TLS with it failed, or it rejected the credentials. Every later email of the run
 * would fail the same way, so the run stops instead of failing each recipient.
 */
export class SmtpServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SmtpServerError';
  }
}

/** The fields that nodemailer sets on its errors. */
interface NodemailerError extends Error {
  /** nodemailer's error code, such as `ESOCKET`, `EDNS`, `ETLS`, `EAUTH` or `EENVELOPE`. */
  code?: string;
  /** The SMTP command that failed, `CONN` while connecting and greeting. */
  command?: string;
  /**
   * OpenSSL's reason for a TLS error, such as `wrong version number`. Node sets it, and
   * nodemailer keeps it when it replaces the error's code.
   */
  reason?: string;
}

/**
 * OpenSSL's reason (OpenSSL 3.0, in Node 20) when the first bytes from the server were not a
 * TLS record, as when smtps:// reaches a server that starts in plain text.
 *
 * NOTE: another OpenSSL version may give another reason, which then gets the general TLS
 * message below, with its hint about the scheme and the port.
 */
const NOT_TLS_REASON = 'wrong version number';

/**
 * Returns the {@link SmtpServerError} for an error of nodemailer (version 8) that every email
 * through `server` would hit, `error` itself when it is already one, or `undefined` for an
 * error that may be the recipient's own, such as a rejected address (`EENVELOPE`) or a
 * connection closed during a message.
 *
 * @param server - the host and port of the SMTP server, without the credentials of the URL.
 */
export function asSmtpServerError(error: unknown, server: string): SmtpServerError | undefined {
  if (error instanceof SmtpServerError) {
    return error;
  }
  if (!(error instanceof Error)) {
    return undefined;
  }

  const { code, command, message, reason } = error as NodemailerError;
  if (reason === NOT_TLS_REASON) {
    return new SmtpServerError(
      `the SMTP server at ${server} did not respond with TLS (${reason}): smtps:// is for a port that expects TLS from the start (usually 465), so for a server that starts TLS with STARTTLS (usually port 587) use an smtp:// SMTP_URL`,
      { cause: error },
    );
  }
  // OpenSSL's message spans lines and names its source files, so the error shows the reason.
  if (code === 'ETLS' || typeof reason === 'string') {
    return new SmtpServerError(
      `TLS with the SMTP server at ${server} failed (${reason ?? message}): check that the scheme matches the port, smtps:// for TLS from the start (usually port 465) or smtp:// for STARTTLS (usually port 587), and that the server's certificate is valid`,
      { cause: error },
    );
  }
  if (code === 'EAUTH') {
    return new SmtpServerError(
      `the SMTP server at ${server} rejected the sign-in (${message}): check SMTP_USER and SMTP_PASS, or the user name and password in SMTP_URL`,
      { cause: error },
    );
  }
  if (command === 'CONN' || code === 'EDNS') {
    return new SmtpServerError(
      `cannot connect to the SMTP server at ${server} (${describeConnectError(error as NodemailerError)}): check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that the SMTP server is running`,
      { cause: error },
    );
  }
  return undefined;
}

/**
 * Returns why connecting failed, such as `connection refused`. nodemailer replaces the errno
 * code of a socket or DNS error with its own (`ESOCKET`, `EDNS`), and keeps Node's message,
 * such as `connect ECONNREFUSED 127.0.0.1:2`, which still contains it.
 */
function describeConnectError(error: NodemailerError): string {
  const systemCode = /\b(E[A-Z_]{3,})\b/.exec(error.message)?.[1];
  if (systemCode !== undefined) {
    return describeNetworkErrorCode(systemCode);
  }
  return error.message;
}
