import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

/**
 * Connects to the SMTP server of `url` (after STARTTLS, when the server offers it), signs in
 * with the URL's credentials when `signIn` is true and the server offers AUTH, as the pooled
 * transport does before each email, then quits. Returns the server's EHLO response.
 *
 * @throws nodemailer's error for a failed connection, TLS or sign-in, or the error of
 *   {@link closedBeforeGreeting}.
 */
export function connectToSmtpServer(url: string, options: { signIn: boolean }): Promise<string> {
  const { auth, ...connectionOptions } = parseConnectionUrl(url);
  const connection = new SMTPConnection(connectionOptions);

  return new Promise((resolve, reject) => {
    let settled = false;
    let greeted = false;
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

    // A second error, such as one while closing after the first, must find a listener too.
    connection.on('error', fail);
    // nodemailer 8 emits no error when the server closes the connection before its greeting,
    // only 'end', and never calls the connect callback. close() stops its 30 s greeting timer,
    // which would keep the process alive. After a success, 'end' settles nothing.
    connection.once('end', () => fail(greeted ? closedDuringSignIn() : closedBeforeGreeting()));

    connection.connect(() => {
      greeted = true;
      // Read before the sign-in, whose response replaces it.
      const ehloResponse = connection.lastServerResponse || '';
      const credentials = options.signIn ? readCredentials(auth) : undefined;
      if (credentials === undefined || !(connection as AuthAware).allowsAuth) {
        succeed(ehloResponse);
        return;
      }
      connection.login(credentials, (error) => {
        if (error) {
          fail(error);
        } else {
          succeed(ehloResponse);
        }
      });
    });
  });
}

/** nodemailer 8 sets `allowsAuth` after EHLO when the server offers AUTH; its types omit it. */
interface AuthAware {
  allowsAuth?: boolean;
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
