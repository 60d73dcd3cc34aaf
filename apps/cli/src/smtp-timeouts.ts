import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

/**
 * Time in milliseconds to open an SMTP connection: the TCP connection, and for
 * smtps:// the TLS handshake too. nodemailer 8 waits 2 min by default.
 */
export const SMTP_CONNECTION_TIMEOUT_MS = 15_000;

/** Time in milliseconds for the server's greeting once connected. nodemailer 8 waits 30 s by default. */
export const SMTP_GREETING_TIMEOUT_MS = 15_000;

/**
 * Time in milliseconds for each reply of the server. nodemailer 8 applies it as the idle timeout
 * of the socket, which starts with the connection, so it limits the wait for the greeting too.
 * nodemailer waits 10 min by default.
 */
export const SMTP_REPLY_TIMEOUT_MS = 15_000;

/** Timeouts of an SMTP connection in milliseconds, under nodemailer's option names. */
export interface SmtpTimeouts {
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
}

/**
 * Returns the timeouts of the check and of the pooled transport of the run: those that the URL
 * sets as nodemailer's query parameters `connectionTimeout`, `greetingTimeout` and
 * `socketTimeout` (in milliseconds), else {@link SMTP_CONNECTION_TIMEOUT_MS},
 * {@link SMTP_GREETING_TIMEOUT_MS} and {@link SMTP_REPLY_TIMEOUT_MS}. A value that is not a
 * positive number is left out, because nodemailer would use its own, longer default in its place.
 *
 * @param options - the options that nodemailer's `parseConnectionUrl` read from the URL.
 */
export function readSmtpTimeouts(options: SMTPConnection.Options): SmtpTimeouts {
  const pick = (value: unknown, fallback: number): number =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
  return {
    connectionTimeout: pick(options.connectionTimeout, SMTP_CONNECTION_TIMEOUT_MS),
    greetingTimeout: pick(options.greetingTimeout, SMTP_GREETING_TIMEOUT_MS),
    socketTimeout: pick(options.socketTimeout, SMTP_REPLY_TIMEOUT_MS),
  };
}
