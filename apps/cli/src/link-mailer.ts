import { normalizeEmail } from '@provisions/api';
import nodemailer from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';

import { CliError, EXIT_FAILURE, usageError } from './cli-error.js';
import { asSmtpTimeoutError, connectToSmtpServer, describeSmtpServer } from './smtp-check.js';
import { asSmtpServerError } from './smtp-server-error.js';
import { readSmtpTimeouts } from './smtp-timeouts.js';

/** SMTP server and sender of the link emails, read from the environment. */
export interface SmtpSettings {
  /** An `smtp://` or `smtps://` URL with the host, port and credentials. */
  url: string;
  /** The sender: a normalized address, whose domain is in ASCII form, and a display name or ''. */
  from: { name: string; address: string };
}

/** Sends each recipient their invitation link by email. */
export interface LinkMailer {
  /**
   * Emails `link` to `email`, a normalized address (`normalizeEmail`).
   *
   * @throws UnsupportedAddressError when the recipient's address needs SMTPUTF8 and the
   *   server lacks it.
   * @throws SmtpServerError when the SMTP server cannot be reached, times out, TLS with it
   *   fails or it rejects the credentials.
   * @throws nodemailer's error when the SMTP server rejects the message.
   */
  send(email: string, link: string): Promise<void>;
  /** Closes the SMTP connections. */
  close(): void;
}

/**
 * An address that this SMTP server cannot deliver to, so sending again fails the same way:
 * its local part is not ASCII and the server does not offer SMTPUTF8 (RFC 6531).
 */
export class UnsupportedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedAddressError';
  }
}

/** Variables that name the SMTP server piece by piece, used when `SMTP_URL` is not set. */
const SMTP_PART_VARIABLES = ['SMTP_HOST', 'SMTP_PORT', 'SMTP_USER', 'SMTP_PASS'] as const;

/** A host name (letters, digits, hyphens and dots), an IPv4 address or a bracketed IPv6 address. */
const SMTP_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

// `Name <address>`, `"Name, with comma" <address>`, `<address>` or a bare address.
const SENDER_WITH_NAME = /^(?<name>[^<>]*?)\s*<(?<address>[^<>]*)>$/;
const BARE_SENDER = /^[^<>\s]+$/;
const CONTROL_CHARACTER = /\p{Cc}/u;
const NON_ASCII = /[^\p{ASCII}]/u;

const SMTP_FROM_EXAMPLE = '"Example Corp <documents@example.com>" or "documents@example.com"';

/**
 * How many times the pooled transport sends a message again on a new connection after a
 * connection closed without an SMTP error, which happens when the server closes it before its
 * greeting. nodemailer 8 retries without limit by default, so such a server hung the run.
 */
const MAX_REQUEUES_AFTER_CLOSE = 2;

/**
 * Reads and checks the SMTP settings without opening a connection. The server comes from
 * `SMTP_URL` (such as `smtps://user:pass@smtp.example.com:465`), or else from `SMTP_HOST`
 * with `SMTP_PORT` (default 587), `SMTP_USER` and `SMTP_PASS`. `SMTP_FROM` is the sender
 * address with an optional display name.
 *
 * @throws CliError (exit code 2) naming the variable that is missing, invalid, or set
 *   together with one it conflicts with; errors never repeat a password.
 */
export function readSmtpSettings(env: NodeJS.ProcessEnv = process.env): SmtpSettings {
  const from = readSender(env.SMTP_FROM);
  const url = isSet(env.SMTP_URL) ? readSmtpUrl(env) : buildSmtpUrl(env);
  return { url, from };
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function readSender(text: string | undefined): SmtpSettings['from'] {
  if (text === undefined || text.trim() === '') {
    throw usageError(
      `--email-links: missing SMTP_FROM, the sender address, such as ${SMTP_FROM_EXAMPLE}`,
    );
  }

  const trimmed = text.trim();
  const withName = SENDER_WITH_NAME.exec(trimmed);
  if (withName === null && !BARE_SENDER.test(trimmed)) {
    throw usageError(`SMTP_FROM: expected an email address, such as ${SMTP_FROM_EXAMPLE}`);
  }

  const name = unquote(withName?.groups?.name ?? '');
  if (CONTROL_CHARACTER.test(name)) {
    throw usageError(
      'SMTP_FROM: the display name contains a control character such as a line break',
    );
  }

  try {
    return { name, address: normalizeEmail(withName?.groups?.address ?? trimmed) };
  } catch (error) {
    throw usageError(`SMTP_FROM: ${(error as Error).message}`);
  }
}

/** Removes the double quotes around a display name and the backslashes that escape `"` and `\`. */
function unquote(name: string): string {
  const quoted = /^"(.*)"$/s.exec(name);
  return quoted === null ? name : (quoted[1] as string).replace(/\\(["\\])/g, '$1');
}

function readSmtpUrl(env: NodeJS.ProcessEnv): string {
  const conflicting = SMTP_PART_VARIABLES.filter((name) => isSet(env[name]));
  if (conflicting.length > 0) {
    throw usageError(
      `SMTP_URL and ${conflicting.join(', ')} are both set: give the whole server in SMTP_URL, or unset it and use SMTP_HOST, SMTP_PORT, SMTP_USER and SMTP_PASS`,
    );
  }

  const text = env.SMTP_URL as string;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')) {
    throw usageError(
      'SMTP_URL: expected an smtp:// or smtps:// URL, such as smtps://user:pass@smtp.example.com:465',
    );
  }
  if (url.hostname === '') {
    throw usageError('SMTP_URL: expected a host name after smtp:// or smtps://');
  }
  if (url.port === '0') {
    throw usageError('SMTP_URL: expected a port from 1 to 65535');
  }
  return text;
}

function buildSmtpUrl(env: NodeJS.ProcessEnv): string {
  const host = env.SMTP_HOST;
  if (!isSet(host)) {
    throw usageError(
      '--email-links: missing SMTP_URL, or SMTP_HOST with SMTP_PORT, SMTP_USER, SMTP_PASS',
    );
  }
  if (!SMTP_HOST.test(host)) {
    throw usageError(
      `SMTP_HOST: expected a host name or IP address such as smtp.example.com, received "${host}"`,
    );
  }

  const port = isSet(env.SMTP_PORT) ? env.SMTP_PORT : '587';
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw usageError(`SMTP_PORT: expected a port number from 1 to 65535, received "${port}"`);
  }
  if (isSet(env.SMTP_USER) !== isSet(env.SMTP_PASS)) {
    throw usageError(
      isSet(env.SMTP_USER)
        ? 'SMTP_USER is set without SMTP_PASS: set both to sign in to the SMTP server, or neither'
        : 'SMTP_PASS is set without SMTP_USER: set both to sign in to the SMTP server, or neither',
    );
  }

  const url = new URL(`${port === '465' ? 'smtps' : 'smtp'}://${host}:${port}`);
  if (isSet(env.SMTP_USER)) {
    url.username = env.SMTP_USER;
    url.password = env.SMTP_PASS ?? '';
  }
  return url.href;
}

/**
 * Checks that the SMTP server offers SMTPUTF8 (RFC 6531) if the sender address needs it,
 * because its local part is not ASCII. Only for such an address does this connect, once, to
 * read the extensions the server offers. Call it before anything is sent.
 *
 * @throws CliError (exit code 2) when the sender needs SMTPUTF8 and the server does not
 *   offer it, or (exit code 1) when the server cannot be reached to check.
 */
export async function checkSmtpUtf8ForSender(settings: SmtpSettings): Promise<void> {
  const address = settings.from.address;
  if (hasAsciiLocalPart(address)) {
    return;
  }

  // The URL may contain credentials, so the messages name only the host and port.
  const server = new URL(settings.url).host;
  let offered: boolean;
  try {
    offered = await offersSmtpUtf8(settings.url);
  } catch (error) {
    throw new CliError(
      `SMTP_FROM: cannot check that the SMTP server at ${server} offers SMTPUTF8, which the sender address ${address} needs: ${(error as Error).message}`,
      EXIT_FAILURE,
      { cause: error },
    );
  }

  if (!offered) {
    throw usageError(
      `SMTP_FROM: the sender address ${address} has a local part that is not ASCII, which needs an SMTP server that offers SMTPUTF8 (RFC 6531), and the SMTP server at ${server} does not offer it: use an ASCII sender address or an SMTP server with SMTPUTF8`,
    );
  }
}

/**
 * Checks that the SMTP server takes email as configured: connects, reads the greeting, starts
 * TLS when the URL or the server requires it, and signs in when credentials are set, then
 * quits. Call it before the first box is created, so that a server that cannot take any email
 * stops the run before it sends anything.
 *
 * @throws CliError (exit code 1) naming the host and port of the SMTP server and what failed;
 *   the message never repeats a password.
 */
export async function verifySmtpServer(settings: SmtpSettings): Promise<void> {
  const server = describeSmtpServer(settings.url);
  try {
    await connectToSmtpServer(settings.url, { signIn: true });
  } catch (error) {
    const failure =
      asSmtpServerError(error, server) ??
      new Error(`the SMTP server at ${server} failed the check: ${(error as Error).message}`);
    throw new CliError(`${failure.message}; nothing was sent`, EXIT_FAILURE, { cause: error });
  }
}

/**
 * Creates a mailer on one pooled SMTP transport (nodemailer). Each email has a plain-text
 * body with the link and a warning that the link is personal. The sender address must have
 * passed {@link checkSmtpUtf8ForSender}.
 *
 * A recipient address whose local part is not ASCII needs the SMTPUTF8 extension. Before
 * the first such email, the mailer opens one more connection to read the extensions the
 * server offers in its EHLO response. Without SMTPUTF8, `send` rejects with
 * {@link UnsupportedAddressError} instead of sending raw UTF-8 in `RCPT TO`.
 *
 * `MAIL FROM` and `RCPT TO` carry the normalized addresses as they are, so their domains are
 * always in ASCII (`xn--`) form. Each connection has the timeouts of {@link readSmtpTimeouts},
 * and a timeout rejects `send` with an SmtpServerError.
 */
export function createLinkMailer(settings: SmtpSettings): LinkMailer {
  const connectionOptions = parseConnectionUrl(settings.url);
  // The check's timeouts, so that a server that stalls during the run stops it as soon.
  const timeouts = readSmtpTimeouts(connectionOptions);
  // @types/nodemailer lacks `maxRequeues`, an option of nodemailer 8's pool.
  const poolOptions: SMTPPool.Options & { maxRequeues: number } = {
    ...connectionOptions,
    ...timeouts,
    pool: true,
    maxRequeues: MAX_REQUEUES_AFTER_CLOSE,
  };
  const transport = nodemailer.createTransport(poolOptions);
  // nodemailer 8 decodes the domain of an address whose local part is not ASCII back to
  // Unicode when it builds the envelope (MimeNode#_normalizeAddress). This plugin runs after
  // that and makes the transport send the envelope given to sendMail unchanged.
  transport.use('stream', (mail, done) => {
    const envelope = mail.data.envelope as { from: string; to: string[] };
    mail.message.getEnvelope = () => ({ from: envelope.from, to: [...envelope.to] });
    done();
  });
  let smtpUtf8: Promise<boolean> | undefined;

  const checkSmtpUtf8 = (): Promise<boolean> => {
    smtpUtf8 ??= offersSmtpUtf8(settings.url).catch((error: unknown) => {
      smtpUtf8 = undefined;
      throw error;
    });
    return smtpUtf8;
  };

  const server = describeSmtpServer(settings.url);
  return {
    async send(email, link) {
      try {
        await sendLink(email, link);
      } catch (error) {
        throw (
          asSmtpTimeoutError(error, settings.url, timeouts) ??
          asSmtpServerError(error, server) ??
          (await findServerFailure(error)) ??
          error
        );
      }
    },
    close() {
      // NOTE: nodemailer ends its sockets without destroying them, so after a timeout a server
      // that never closes its side of the connection keeps the process running.
      transport.close();
    },
  };

  /**
   * Connects once more after an email failed without an SMTP error code, which is how the pool
   * reports that its connections kept closing before the greeting. Returns the server failure
   * that this connection meets, or `undefined` when the server sends its greeting, so the
   * failure stays the recipient's.
   */
  async function findServerFailure(error: unknown): Promise<Error | undefined> {
    if (error instanceof UnsupportedAddressError || (error as NodemailerCode).code !== undefined) {
      return undefined;
    }
    try {
      await offersSmtpUtf8(settings.url);
      return undefined;
    } catch (connectError) {
      return asSmtpServerError(connectError, server);
    }
  }

  async function sendLink(email: string, link: string): Promise<void> {
    if (!hasAsciiLocalPart(email) && !(await checkSmtpUtf8())) {
      throw new UnsupportedAddressError(
        `${email} has a local part that is not ASCII, which needs an SMTP server with SMTPUTF8, and this SMTP server does not offer it: give the recipient the link another way (provisions keystore export)`,
      );
    }

    await transport.sendMail({
      envelope: { from: settings.from.address, to: [email] },
      // A copy, because nodemailer rewrites the address of a `from` object in place.
      from: { ...settings.from },
      to: email,
      subject: 'Your encrypted documents',
      text: [
        'You have received end-to-end encrypted documents.',
        '',
        'Open them with this link; you will sign in with this email address:',
        link,
        '',
        'The link is personal: do not forward it.',
      ].join('\n'),
    });
  }
}

function hasAsciiLocalPart(address: string): boolean {
  return !NON_ASCII.test(address.slice(0, address.lastIndexOf('@')));
}

/**
 * Connects to the SMTP server of `url` (after STARTTLS, when the server offers it) and returns
 * whether its EHLO response lists SMTPUTF8. It does not sign in, because servers list their
 * extensions before that.
 */
async function offersSmtpUtf8(url: string): Promise<boolean> {
  const response = await connectToSmtpServer(url, { signIn: false });
  return /^250[ -]SMTPUTF8\b/im.test(response);
}

/** The `code` field of nodemailer's errors, such as `ESOCKET` or `EENVELOPE`. */
interface NodemailerCode {
  code?: string;
}
