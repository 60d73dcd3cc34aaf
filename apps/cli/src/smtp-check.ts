import type { Socket } from 'node:net';

import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

import { formatSeconds } from './error-report.js';
import { SmtpServerError } from './smtp-server-error.js';
import { readSmtpTimeouts, type SmtpTimeouts } from './smtp-timeouts.js';

/**
 * Returns the host and port of the SMTP server of `url`, with nodemailer's default port when
 * the URL has none: 465 for smtps:// and 587 for smtp://. The URL's credentials are left out.
 */
export function describeSmtpServer(url: string): string {
  const parsed = new URL(url);
  if (parsed.port !== '') {
    return `${parsed.hostname}:${parsed.port}`;
  }
  const defaultPort = parsed.protocol === 'smtps:' ? 465 : 587;
  return `${parsed.hostname}:${defaultPort}`;
}

/**
 * Connects to the SMTP server of `url` (after STARTTLS, when the server offers it), signs in
 * with the URL's credentials when `signIn` is true and the server offers AUTH, as the pooled
 * transport does before each email, then quits. Returns the server's EHLO response.
 *
 * Each step has the timeout that {@link readSmtpTimeouts} returns for the URL. The socket is
 * destroyed when the check ends, so that a server that never closes its side does not keep
 * the process alive.
 *
 * @throws SmtpServerError naming the step that timed out and the timeout.
 * @throws nodemailer's error for a failed connection, TLS or sign-in, or the error of
 *   {@link closedBeforeGreeting}.
 */
export function connectToSmtpServer(url: string, options: { signIn: boolean }): Promise<string> {
  const { auth, ...connectionOptions } = parseConnectionUrl(url);
  const timeouts = readSmtpTimeouts(connectionOptions);
  const connection = new SMTPConnection({ ...connectionOptions, ...timeouts });
  const server = describeSmtpServer(url);

  return new Promise((resolve, reject) => {
    let settled = false;
    let handshakeFinished = false;
    const fail = (error: Error): void => {
      if (!settled) {
        settled = true;
        connection.close();
        reject(error);
      }
    };
    const succeed = (ehloResponse: string): void => {
      settled = true;
      connection.quit();
      resolve(ehloResponse);
    };
    const failNamingStep = (error: Error): void => {
      if ((error as NodemailerError).code !== 'ETIMEDOUT') {
        fail(error);
        return;
      }
      const step = describeAwaitedStep(connection, handshakeFinished, timeouts);
      const message = describeTimeout(server, step, connection.secureConnection);
      fail(new SmtpServerError(message, { cause: error }));
    };

    // A second error, such as one while closing after the first, must find a listener too.
    connection.on('error', failNamingStep);
    // nodemailer 8 emits only 'end', never 'error' or the connect callback, when the server
    // closes before its greeting. fail() calls close() to stop the greeting timer, and the socket
    // is destroyed because close() only ends it. Both would keep the process alive otherwise.
    connection.once('end', () => {
      fail(handshakeFinished ? closedDuringSignIn() : closedBeforeGreeting());
      (connection._socket as Socket | undefined)?.destroy();
    });

    connection.connect(() => {
      handshakeFinished = true;
      // Read before the sign-in, whose response replaces it.
      const ehloResponse = connection.lastServerResponse || '';
      const credentials = options.signIn ? readCredentials(auth) : undefined;
      if (credentials === undefined || !(connection as NodemailerState).allowsAuth) {
        succeed(ehloResponse);
        return;
      }
      connection.login(credentials, (error) => {
        if (error) {
          failNamingStep(error);
        } else {
          succeed(ehloResponse);
        }
      });
    });
  });
}

/** Fields of nodemailer 8's SMTPConnection that its types omit. */
interface NodemailerState {
  /** Set after EHLO when the server offers AUTH. */
  allowsAuth?: boolean;
  /** True during the TLS handshake that follows STARTTLS. */
  upgrading?: boolean;
}

/** The `code` field of nodemailer's errors, such as `ETIMEDOUT` for each of its timeouts. */
interface NodemailerError extends Error {
  code?: string;
}

/** The step of the SMTP dialog that a timed-out check was waiting for, and the time it waited. */
interface AwaitedStep {
  step:
    | 'connection'
    | 'greeting'
    | 'EHLO'
    | 'HELO'
    | 'STARTTLS'
    | 'TLS after STARTTLS'
    | 'AUTH'
    | 'email';
  timeoutMs: number;
}

/**
 * Returns the step that `connection` waits for, read from nodemailer 8's state: `stage` is
 * 'init' until the connection is open, `lastServerResponse` contains the latest reply, and the
 * connect callback runs once EHLO (and STARTTLS, when offered) succeeded.
 */
function describeAwaitedStep(
  connection: SMTPConnection,
  handshakeFinished: boolean,
  timeouts: SmtpTimeouts,
): AwaitedStep {
  const reply = timeouts.socketTimeout;
  if (connection.stage === 'init') {
    return { step: 'connection', timeoutMs: timeouts.connectionTimeout };
  }
  if (connection.lastServerResponse === false) {
    // Both timers start with the connection, so the shorter one ends the wait.
    return { step: 'greeting', timeoutMs: Math.min(timeouts.greetingTimeout, reply) };
  }
  if (handshakeFinished) {
    // The check sends no other command before it settles.
    return { step: 'AUTH', timeoutMs: reply };
  }
  if ((connection as NodemailerState).upgrading === true) {
    return { step: 'TLS after STARTTLS', timeoutMs: reply };
  }
  // nodemailer sends STARTTLS after a 250 reply to EHLO, and HELO after a rejected EHLO.
  const lastCode = connection.lastServerResponse.slice(0, 3);
  if (lastCode === '250') {
    return { step: 'STARTTLS', timeoutMs: reply };
  }
  if (/^[45]/.test(lastCode)) {
    return { step: 'HELO', timeoutMs: reply };
  }
  return { step: 'EHLO', timeoutMs: reply };
}

/**
 * Returns the message for a check that timed out waiting for `awaited`. `secure` is true for
 * smtps://, whose connection starts with TLS.
 */
function describeTimeout(server: string, awaited: AwaitedStep, secure: boolean): string {
  const within = `within ${formatSeconds(awaited.timeoutMs)}`;
  const retry = 'check that the SMTP server is working, then run the command again';
  switch (awaited.step) {
    case 'connection':
      return `cannot connect to the SMTP server at ${server} (no connection ${within}): check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that the SMTP server is running`;
    case 'greeting':
      // A server that expects TLS from the start waits for the client's TLS handshake.
      return secure
        ? `the SMTP server at ${server} accepted the connection but sent no greeting ${within}: check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that an SMTP server listens there`
        : `the SMTP server at ${server} accepted the connection but sent no greeting ${within}: if the port expects TLS from the start (usually 465), use an smtps:// SMTP_URL; otherwise check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that an SMTP server listens there`;
    case 'TLS after STARTTLS':
      return `the SMTP server at ${server} did not finish the TLS handshake after STARTTLS ${within}: ${retry}`;
    case 'AUTH':
      return `the SMTP server at ${server} did not answer the sign-in (AUTH) ${within}: ${retry}`;
    case 'email':
      return `the SMTP server at ${server} did not reply ${within} while sending an email: check that the SMTP server is working`;
    default:
      return `the SMTP server at ${server} sent its greeting but did not answer ${awaited.step} ${within}: ${retry}`;
  }
}

/**
 * Returns the {@link SmtpServerError} for a timeout of nodemailer 8's pooled transport, or
 * `undefined` for any other error. nodemailer's message distinguishes a connection or greeting
 * timeout from the reply timeout, but the reply timeout carries no command, so its message
 * names no step.
 *
 * @param url - the transport's `smtp://` or `smtps://` URL; the message names only its host and port.
 * @param timeouts - the timeouts that the transport was created with.
 */
export function asSmtpTimeoutError(
  error: unknown,
  url: string,
  timeouts: SmtpTimeouts,
): SmtpServerError | undefined {
  if (!(error instanceof Error) || (error as NodemailerError).code !== 'ETIMEDOUT') {
    return undefined;
  }

  let awaited: AwaitedStep;
  if (error.message === 'Connection timeout') {
    awaited = { step: 'connection', timeoutMs: timeouts.connectionTimeout };
  } else if (error.message === 'Greeting never received') {
    awaited = { step: 'greeting', timeoutMs: timeouts.greetingTimeout };
  } else {
    awaited = { step: 'email', timeoutMs: timeouts.socketTimeout };
  }
  const secure = new URL(url).protocol === 'smtps:';
  const message = describeTimeout(describeSmtpServer(url), awaited, secure);
  return new SmtpServerError(message, { cause: error });
}

/** Returns the user name and password that `parseConnectionUrl` read from the URL, if any. */
function readCredentials(
  auth: SMTPConnection.Options['auth'],
): SMTPConnection.Credentials | undefined {
  const { user, pass } = (auth ?? {}) as Partial<SMTPConnection.Credentials>;
  return user === undefined || pass === undefined ? undefined : { user, pass };
}

/**
 * Returns the error for a server that closed the connection before its greeting, with the
 * fields nodemailer 8 sets on its own connection errors, so that {@link asSmtpServerError}
 * treats it as one.
 */
function closedBeforeGreeting(): Error {
  return Object.assign(new Error('the SMTP server closed the connection before its greeting'), {
    code: 'ECONNECTION',
    command: 'CONN',
  });
}

/** Returns the error for a server that closed the connection after its greeting, while signing in. */
function closedDuringSignIn(): Error {
  return new Error('the SMTP server closed the connection during the sign-in');
}
