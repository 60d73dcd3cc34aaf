import nodemailer from 'nodemailer';

import { usageError } from './cli-error.js';

/** SMTP server and sender of the link emails, read from the environment. */
export interface SmtpSettings {
  /** An `smtp://` or `smtps://` URL with the host, port and credentials. */
  url: string;
  /** The sender address, such as `Example Corp <documents@example.com>`. */
  from: string;
}

/** Sends each recipient their invitation link by email. */
export interface LinkMailer {
  /** Emails `link` to `email`; rejects when the SMTP server refuses the message. */
  send(email: string, link: string): Promise<void>;
  /** Closes the SMTP connections. */
  close(): void;
}

/**
 * Reads the SMTP settings: `SMTP_URL` (such as `smtps://user:pass@smtp.example.com:465`),
 * or `SMTP_HOST` with `SMTP_PORT` (default 587), `SMTP_USER` and `SMTP_PASS`;
 * and `SMTP_FROM`, the sender address.
 *
 * @throws CliError (exit code 2) naming the missing or invalid variable.
 */
export function readSmtpSettings(env: NodeJS.ProcessEnv = process.env): SmtpSettings {
  const from = env.SMTP_FROM;
  if (from === undefined || from.trim() === '') {
    throw usageError('--email-links: missing SMTP_FROM, the sender address of the emails');
  }

  if (env.SMTP_URL !== undefined && env.SMTP_URL !== '') {
    if (!URL.canParse(env.SMTP_URL) || !/^smtps?:$/.test(new URL(env.SMTP_URL).protocol)) {
      throw usageError('SMTP_URL: expected an smtp:// or smtps:// URL');
    }
    return { url: env.SMTP_URL, from };
  }

  const host = env.SMTP_HOST;
  if (host === undefined || host === '') {
    throw usageError(
      '--email-links: missing SMTP_URL, or SMTP_HOST with SMTP_PORT, SMTP_USER, SMTP_PASS',
    );
  }
  const port = env.SMTP_PORT ?? '587';
  if (!/^[0-9]{1,5}$/.test(port)) {
    throw usageError(`SMTP_PORT: expected a port number, received "${port}"`);
  }

  const url = new URL(`${port === '465' ? 'smtps' : 'smtp'}://${host}:${port}`);
  if (env.SMTP_USER !== undefined && env.SMTP_USER !== '') {
    url.username = env.SMTP_USER;
    url.password = env.SMTP_PASS ?? '';
  }
  return { url: url.href, from };
}

/**
 * Creates a mailer on one pooled SMTP transport (nodemailer). Each email has
 * a plain-text body with the link and a warning that the link is personal.
 */
export function createLinkMailer(settings: SmtpSettings): LinkMailer {
  const transport = nodemailer.createTransport(
    `${settings.url}${settings.url.includes('?') ? '&' : '?'}pool=true`,
  );

  return {
    async send(email, link) {
      await transport.sendMail({
        from: settings.from,
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
    },
    close() {
      transport.close();
    },
  };
}
