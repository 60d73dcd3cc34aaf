import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DATABASE_FILE_NAME } from '@provisions/server';
import Database from 'better-sqlite3';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { boxOptions, type CliResult, runCli, sendArgsWithoutServer } from './support/run-cli.js';
import { startSmtpRecorder } from './support/smtp-recorder.js';
import { exitWithin, spawnCli } from './support/spawn-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

interface ReceivedEmail {
  recipients: string[];
  text: string;
}

let server: TestServer;
let smtp: SMTPServer;
let smtpPort: number;
let workDir: string;
const received: ReceivedEmail[] = [];

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-email-'));
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      stream.on('end', () => {
        received.push({ recipients: session.envelope.rcptTo.map((to) => to.address), text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** The result of a CLI run through an SMTP recorder, and the commands the recorder received. */
interface RecordedRun {
  result: CliResult;
  commands: string[];
  /** The recorder's host and port, as the CLI names the SMTP server in errors. */
  smtpHost: string;
}

/**
 * Sends `manifest` with `--email-links` to the test server, from `smtpFrom`, through an SMTP
 * recorder that offers SMTPUTF8 when `smtpUtf8` is true.
 */
async function sendThroughRecorder(options: {
  manifest: string;
  keystore: string;
  smtpFrom: string;
  smtpUtf8: boolean;
}): Promise<RecordedRun> {
  const recorder = await startSmtpRecorder({ smtpUtf8: options.smtpUtf8 });
  try {
    const result = await sendEmailLinks(options.manifest, options.keystore, {
      SMTP_URL: recorder.url,
      SMTP_FROM: options.smtpFrom,
    });
    return { result, commands: recorder.commands, smtpHost: new URL(recorder.url).host };
  } finally {
    await recorder.close();
  }
}

/**
 * Time limit of the tests against a server that closes each connection at once. The limit turns
 * an endless retry of such a server into a test failure.
 */
const CLOSING_SERVER_TEST_TIME_LIMIT_MS = 20_000;

/**
 * Serves one connection as a minimal SMTP server without AUTH: a greeting, 250 to EHLO and
 * every other command, 221 to QUIT. That is enough for the CLI's check of the server.
 */
function serveSmtpCheck(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.write('220 check ESMTP\r\n');
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      const command = buffered.slice(0, end).toUpperCase();
      buffered = buffered.slice(end + 2);
      if (command === 'QUIT') {
        socket.end('221 bye\r\n');
      } else {
        socket.write('250 ok\r\n');
      }
    }
  });
}

/**
 * Starts a TCP server on 127.0.0.1 that accepts each connection and closes it before a greeting.
 * With `answerFirst`, the first connection, the CLI's check before the run, gets
 * {@link serveSmtpCheck} instead.
 */
async function startClosingServer(options: { answerFirst: boolean }): Promise<{
  port: number;
  /** Returns the number of connections accepted so far. */
  connections: () => number;
  close: () => Promise<void>;
}> {
  let connections = 0;
  const closing: Server = createServer((socket) => {
    connections += 1;
    if (options.answerFirst && connections === 1) {
      serveSmtpCheck(socket);
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
  return {
    port: (closing.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => closing.close(() => resolve())),
  };
}

/**
 * Starts a TCP server on 127.0.0.1 that serves its first connection, the CLI's check before
 * the run, with {@link serveSmtpCheck}, then stops listening, so every later connection is
 * refused. Returns its port.
 */
async function startServerClosingAfterCheck(): Promise<number> {
  const listener: Server = createServer((socket) => {
    listener.close();
    serveSmtpCheck(socket);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return (listener.address() as AddressInfo).port;
}

/**
 * Starts a TCP server on 127.0.0.1 that sends an SMTP greeting when `greets` is true, then reads
 * nothing, sends no reply and never closes a connection until `close`, even after the client
 * closed its side (`allowHalfOpen`).
 */
async function startStalledServer(greets: boolean): Promise<{
  port: number;
  close: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  const stalled: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    if (greets) {
      socket.write('220 stalled ESMTP\r\n');
    }
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  return {
    port: (stalled.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      return new Promise<void>((resolve) => stalled.close(() => resolve()));
    },
  };
}

/**
 * Starts a TCP server on 127.0.0.1 that serves each connection as {@link serveSmtpCheck} does
 * until `MAIL FROM`, which gets no reply: the connection then stays open and silent until
 * `close`, even after the client closed its side (`allowHalfOpen`). The CLI's check before the
 * run sends no `MAIL FROM`, so it passes.
 */
async function startServerStallingAtMailFrom(): Promise<{
  port: number;
  /** Returns the number of `MAIL FROM` commands received so far. */
  mailFromCount: () => number;
  close: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  let mailFromCount = 0;
  const stalling: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.write('220 stalling ESMTP\r\n');
    let buffered = '';
    let stalled = false;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (
        let end = buffered.indexOf('\r\n');
        end >= 0 && !stalled;
        end = buffered.indexOf('\r\n')
      ) {
        const command = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (command.startsWith('MAIL FROM:')) {
          mailFromCount += 1;
          stalled = true;
        } else if (command === 'QUIT') {
          socket.end('221 bye\r\n');
        } else {
          socket.write('250 ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  return {
    port: (stalling.address() as AddressInfo).port,
    mailFromCount: () => mailFromCount,
    close: () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      return new Promise<void>((resolve) => stalling.close(() => resolve()));
    },
  };
}

/** The timeouts the stalled-server tests give the SMTP check, as nodemailer's URL parameters. */
const SHORT_SMTP_TIMEOUTS = 'connectionTimeout=500&greetingTimeout=500&socketTimeout=500';

/**
 * Time limit for a CLI run against a stalled SMTP server with {@link SHORT_SMTP_TIMEOUTS}: the
 * 0.5 s timeout plus the start of Node, with room for a loaded machine.
 */
const STALLED_SERVER_EXIT_LIMIT_MS = 5_000;

/**
 * Time limit for a run that creates boxes on the test server and then meets an SMTP server that
 * stalls with {@link SHORT_SMTP_TIMEOUTS}. nodemailer's default reply timeout is 10 min, so a run
 * without the short timeouts misses it.
 */
const STALLED_RUN_EXIT_LIMIT_MS = 10_000;

/** Counts the boxes on the test server with `title`. */
function countBoxesTitled(title: string): number {
  const database = new Database(join(server.dataDir, DATABASE_FILE_NAME), { readonly: true });
  try {
    const row = database
      .prepare('SELECT count(*) AS count FROM boxes WHERE title = ?')
      .get(title) as { count: number };
    return row.count;
  } finally {
    database.close();
  }
}

/**
 * Runs `send --manifest MANIFEST --email-links` with a server URL where nothing listens, for
 * checks that end the command before any request to it. `env` overrides the default SMTP
 * variables.
 */
function sendWithoutServer(manifest: string, env: Record<string, string>): Promise<CliResult> {
  return runCli(
    sendArgsWithoutServer(join(workDir, 'k.json'), '--manifest', manifest, '--email-links'),
    {
      env: {
        PROVISIONS_CLIENT_SECRET: 'secret',
        PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
        SMTP_URL: 'smtp://127.0.0.1:1',
        SMTP_FROM: 'documents@example.com',
        ...env,
      },
    },
  );
}

/**
 * Runs `send --manifest MANIFEST --keystore KEYSTORE --email-links ...options` against the test
 * server, with the SMTP server and sender that `smtpEnv` sets.
 */
function sendEmailLinks(
  manifest: string,
  keystore: string,
  smtpEnv: Record<string, string>,
  ...options: string[]
): Promise<CliResult> {
  return runCli(
    ['send', '--manifest', manifest, '--keystore', keystore, '--email-links', ...options],
    { env: { ...serverEnv(server, 'email test passphrase'), ...smtpEnv } },
  );
}

describe('send --email-links', () => {
  it('emails each recipient exactly their own link once', async () => {
    const emails = ['ada@example.com', 'grace@example.org', 'alan@example.net'];
    const manifest = join(workDir, 'recipients.csv');
    await writeFile(
      manifest,
      `email,title,message\n${emails.map((email) => `${email},Box,hello`).join('\n')}\n`,
    );
    const keystore = join(workDir, 'keystore.json');
    const linksOut = join(workDir, 'links.csv');
    const smtpEnv = {
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      SMTP_FROM: 'Documents <documents@example.com>',
    };

    const result = await sendEmailLinks(manifest, keystore, smtpEnv, '--links-out', linksOut);
    const again = await sendEmailLinks(manifest, keystore, smtpEnv, '--links-out', linksOut);

    expect(result.stderr).not.toContain('#provision:');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
    expect(again.code).toBe(0);
    expect(result.stderr).toContain('\nemails sent: 3 (3 by this run)\n');
    expect(again.stderr).toContain('\nemails sent: 3 (0 by this run)\n');
    const links = new Map(
      (await readFile(linksOut, 'utf8'))
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',') as [string, string]),
    );
    expect(received).toHaveLength(emails.length);
    for (const email of emails) {
      const mails = received.filter((mail) => mail.recipients.includes(email));
      expect(mails).toHaveLength(1);
      const mail = mails[0] as ReceivedEmail;
      expect(mail.recipients).toEqual([email]);
      const link = links.get(email) as string;
      expect(mail.text.replace(/=\r?\n/g, '')).toContain(link);
      for (const other of emails.filter((candidate) => candidate !== email)) {
        expect(mail.text).not.toContain((links.get(other) as string).split('#provision:')[1]);
      }
    }
  });

  it('counts a recipient whose email failed', async () => {
    const rejecting = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        callback(
          address.address === 'bounce@example.com' ? new Error('mailbox unavailable') : undefined,
        );
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
    const manifest = join(workDir, 'bounce.csv');
    await writeFile(
      manifest,
      'email,title,message\nfirst@example.com,Box,hi\nbounce@example.com,Box,hi\nthird@example.com,Box,hi\n',
    );

    let result: Awaited<ReturnType<typeof runCli>>;
    try {
      result = await sendEmailLinks(
        manifest,
        join(workDir, 'bounce.json'),
        {
          SMTP_URL: `smtp://127.0.0.1:${(rejecting.server.address() as AddressInfo).port}`,
          SMTP_FROM: 'documents@example.com',
        },
        '--json',
      );
    } finally {
      await new Promise<void>((resolve) => rejecting.close(() => resolve()));
    }

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('recipients: 2 of 3 done, 1 failed');
    expect(result.stderr).toContain('boxes created: 3 (3 by this run)');
    expect(result.stderr).toContain('provisions created: 3, reused: 0');
    expect(result.stderr).toContain('\nemails sent: 2 (2 by this run)\n');
    const { summary } = JSON.parse(result.stdout) as {
      summary: { emails_sent: number; emails_sent_now: number };
    };
    expect(summary.emails_sent).toBe(2);
    expect(summary.emails_sent_now).toBe(2);
    expect(result.stderr).toContain(
      'failed: bounce@example.com: the boxes were sent, but emailing the link failed',
    );
  });

  it('checks a refused SMTP server before any box', async () => {
    const manifest = join(workDir, 'smtp-refused.csv');
    const rows = Array.from({ length: 10 }, (_, index) => `r${index}@example.com,Refused box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);
    const keystore = join(workDir, 'smtp-refused.json');

    // Nothing listens on port 1 of 127.0.0.1, so every connection is refused.
    const result = await sendEmailLinks(manifest, keystore, {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '1',
      SMTP_FROM: 'documents@example.com',
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'provisions: cannot connect to the SMTP server at 127.0.0.1:1 (connection refused): check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that the SMTP server is running; nothing was sent\n',
    );
    expect(countBoxesTitled('Refused box')).toBe(0);
    await expect(stat(keystore)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${manifest}.journal`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    {
      name: 'never answers EHLO',
      greets: true,
      failure:
        'sent its greeting but did not answer EHLO within 0.5 s: check that the SMTP server is working, then run the command again',
    },
    {
      name: 'never greets',
      greets: false,
      failure:
        'accepted the connection but sent no greeting within 0.5 s: if the port expects TLS from the start (usually 465), use an smtps:// SMTP_URL; otherwise check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that an SMTP server listens there',
    },
  ])('exits when the SMTP server $name', async ({ greets, failure }) => {
    const stalled = await startStalledServer(greets);
    const manifest = join(workDir, 'smtp-stalled.csv');
    await writeFile(manifest, 'email,title,message\nstalled@example.com,Stalled box,hi\n');

    // A child process, so that the test checks whether the process exits by itself.
    const started = Date.now();
    const cli = spawnCli(
      sendArgsWithoutServer(
        join(workDir, 'smtp-stalled.json'),
        '--manifest',
        manifest,
        '--email-links',
      ),
      {
        PROVISIONS_CLIENT_SECRET: 'secret',
        PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
        SMTP_URL: `smtp://127.0.0.1:${stalled.port}?${SHORT_SMTP_TIMEOUTS}`,
        SMTP_FROM: 'documents@example.com',
      },
    );
    let exit: number | string;
    try {
      exit = await exitWithin(cli, STALLED_SERVER_EXIT_LIMIT_MS);
    } finally {
      await stalled.close();
    }

    expect(exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(STALLED_SERVER_EXIT_LIMIT_MS);
    expect(cli.stderr()).toBe(
      `provisions: the SMTP server at 127.0.0.1:${stalled.port} ${failure}; nothing was sent\n`,
    );
  });

  it('explains smtps:// on a plain SMTP port', async () => {
    const manifest = join(workDir, 'smtps-on-plain.csv');
    await writeFile(manifest, 'email,title,message\nplain-port@example.com,Box,hi\n');

    const result = await sendWithoutServer(manifest, { SMTP_URL: `smtps://127.0.0.1:${smtpPort}` });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the SMTP server at 127.0.0.1:${smtpPort} did not respond with TLS (wrong version number): smtps:// is for a port that expects TLS from the start (usually 465), so for a server that starts TLS with STARTTLS (usually port 587) use an smtp:// SMTP_URL; nothing was sent\n`,
    );
  });

  it('explains smtp:// on a TLS-only port', async () => {
    // smtp-server's built-in self-signed certificate is enough: the client never gets to TLS.
    const tlsOnly = new SMTPServer({ secure: true, authOptional: true, logger: false });
    // The server reports each client that left without a TLS handshake as an error.
    tlsOnly.on('error', () => undefined);
    await new Promise<void>((resolve) => tlsOnly.listen(0, '127.0.0.1', resolve));
    const port = (tlsOnly.server.address() as AddressInfo).port;
    const manifest = join(workDir, 'smtp-on-tls.csv');
    await writeFile(manifest, 'email,title,message\ntls-port@example.com,Box,hi\n');

    let result: CliResult;
    try {
      result = await sendWithoutServer(manifest, {
        SMTP_URL: `smtp://127.0.0.1:${port}?${SHORT_SMTP_TIMEOUTS}`,
      });
    } finally {
      await new Promise<void>((resolve) => tlsOnly.close(() => resolve()));
    }

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the SMTP server at 127.0.0.1:${port} accepted the connection but sent no greeting within 0.5 s: if the port expects TLS from the start (usually 465), use an smtps:// SMTP_URL; otherwise check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that an SMTP server listens there; nothing was sent\n`,
    );
  });

  it('stops on connection refused mid-run', async () => {
    const port = await startServerClosingAfterCheck();
    const manifest = join(workDir, 'smtp-refused-later.csv');
    const rows = Array.from({ length: 10 }, (_, index) => `later${index}@example.com,Box,hi`);
    await writeFile(manifest, `email,title,message\n${rows.join('\n')}\n`);

    const result = await sendEmailLinks(
      manifest,
      join(workDir, 'smtp-refused-later.json'),
      { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), SMTP_FROM: 'documents@example.com' },
      '--concurrency',
      '1',
    );

    const lines = result.stderr.trimEnd().split('\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('recipients: 0 of 10 done, 1 failed');
    expect(lines.filter((line) => line.startsWith('failed: '))).toHaveLength(1);
    expect(lines.at(-1)).toBe(
      `provisions: stopped the run: cannot connect to the SMTP server at 127.0.0.1:${port} (connection refused): check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that the SMTP server is running; run the same command again to resume, which emails the links not sent yet (journal ${manifest}.journal)`,
    );
  });

  it(
    'stops when the SMTP server starts closing at once',
    async () => {
      const closing = await startClosingServer({ answerFirst: true });
      const manifest = join(workDir, 'smtp-closing.csv');
      // Addresses of their own, because the test server keeps the provisions of earlier tests.
      await writeFile(
        manifest,
        'email,title,message\nclosing-a@example.com,Box,hi\nclosing-b@example.com,Box,hi\n',
      );

      const started = Date.now();
      let result: CliResult;
      try {
        result = await sendEmailLinks(
          manifest,
          join(workDir, 'smtp-closing.json'),
          {
            SMTP_HOST: '127.0.0.1',
            SMTP_PORT: String(closing.port),
            SMTP_FROM: 'documents@example.com',
          },
          '--concurrency',
          '1',
        );
      } finally {
        await closing.close();
      }

      const lastLine = result.stderr.trimEnd().split('\n').at(-1);
      expect(Date.now() - started).toBeLessThan(CLOSING_SERVER_TEST_TIME_LIMIT_MS);
      // The check before the run, three tries of the first email, then one connection to
      // check the server.
      expect(closing.connections()).toBe(5);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('recipients: 0 of 2 done, 1 failed');
      expect(lastLine).toBe(
        `provisions: stopped the run: cannot connect to the SMTP server at 127.0.0.1:${closing.port} (the SMTP server closed the connection before its greeting): check SMTP_URL, or SMTP_HOST and SMTP_PORT, and that the SMTP server is running; run the same command again to resume, which emails the links not sent yet (journal ${manifest}.journal)`,
      );
    },
    CLOSING_SERVER_TEST_TIME_LIMIT_MS,
  );

  it(
    'stops when the SMTP server stalls mid-run',
    async () => {
      const stalling = await startServerStallingAtMailFrom();
      const manifest = join(workDir, 'smtp-stalling.csv');
      const keystore = join(workDir, 'smtp-stalling.json');
      const emails = ['stalling-a@example.com', 'stalling-b@example.com', 'stalling-c@example.com'];
      await writeFile(
        manifest,
        `email,title,message\n${emails.map((email) => `${email},Box,hi`).join('\n')}\n`,
      );
      const args = ['send', '--manifest', manifest, '--keystore', keystore, '--email-links'];

      // A child process, so that the test checks whether the process exits by itself.
      const started = Date.now();
      const cli = spawnCli(args, {
        ...serverEnv(server, 'email test passphrase'),
        SMTP_URL: `smtp://127.0.0.1:${stalling.port}?${SHORT_SMTP_TIMEOUTS}`,
        SMTP_FROM: 'documents@example.com',
      });
      let exit: number | string;
      try {
        exit = await exitWithin(cli, STALLED_RUN_EXIT_LIMIT_MS);
      } finally {
        await stalling.close();
      }

      expect(exit).toBe(1);
      expect(Date.now() - started).toBeLessThan(STALLED_RUN_EXIT_LIMIT_MS);
      expect(stalling.mailFromCount()).toBeGreaterThan(0);
      expect(cli.stderr().trimEnd().split('\n').at(-1)).toBe(
        `provisions: stopped the run: the SMTP server at 127.0.0.1:${stalling.port} did not reply within 0.5 s while sending an email: check that the SMTP server is working; run the same command again to resume, which emails the links not sent yet (journal ${manifest}.journal)`,
      );

      const resumed = await sendEmailLinks(manifest, keystore, {
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        SMTP_FROM: 'documents@example.com',
      });

      expect(resumed.code).toBe(0);
      for (const email of emails) {
        const emailsTo = received.filter((mail) => mail.recipients.includes(email));
        expect(emailsTo, email).toHaveLength(1);
      }
    },
    2 * STALLED_RUN_EXIT_LIMIT_MS,
  );

  it(
    'rejects a non-ASCII SMTP_FROM when the SMTP server closes at once',
    async () => {
      const closing = await startClosingServer({ answerFirst: false });
      const manifest = join(workDir, 'smtp-closing-sender.csv');
      await writeFile(manifest, 'email,title,message\nplain@example.com,Box,hi\n');

      let result: CliResult;
      try {
        result = await sendWithoutServer(manifest, {
          SMTP_URL: `smtp://127.0.0.1:${closing.port}`,
          SMTP_FROM: 'jörg@example.com',
        });
      } finally {
        await closing.close();
      }

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `provisions: SMTP_FROM: cannot check that the SMTP server at 127.0.0.1:${closing.port} offers SMTPUTF8, which the sender address jörg@example.com needs: the SMTP server closed the connection before its greeting\n`,
      );
    },
    CLOSING_SERVER_TEST_TIME_LIMIT_MS,
  );

  it('checks the SMTP sign-in before any box', async () => {
    const rejectingAuth = new SMTPServer({
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(_auth, _session, callback) {
        callback(new Error('invalid user name or password'));
      },
    });
    await new Promise<void>((resolve) => rejectingAuth.listen(0, '127.0.0.1', resolve));
    const port = (rejectingAuth.server.address() as AddressInfo).port;
    const manifest = join(workDir, 'smtp-auth.csv');
    await writeFile(
      manifest,
      'email,title,message\na@example.com,Sign-in box,hi\nb@example.com,Sign-in box,hi\n',
    );

    let result: CliResult;
    try {
      result = await sendEmailLinks(manifest, join(workDir, 'smtp-auth.json'), {
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(port),
        SMTP_USER: 'sender',
        SMTP_PASS: 'wrong password',
        SMTP_FROM: 'documents@example.com',
      });
    } finally {
      await new Promise<void>((resolve) => rejectingAuth.close(() => resolve()));
    }

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^provisions: the SMTP server at 127\\.0\\.0\\.1:${port} rejected the sign-in \\(.*535.*\\): check SMTP_USER and SMTP_PASS, or the user name and password in SMTP_URL; nothing was sent\n$`,
      ),
    );
    expect(result.stderr).not.toContain('wrong password');
    expect(countBoxesTitled('Sign-in box')).toBe(0);
  });

  it('asks for SMTPUTF8 only for a local part that is not ASCII', async () => {
    const recorder = await startSmtpRecorder({ smtpUtf8: false });
    const manifest = join(workDir, 'international.csv');
    await writeFile(
      manifest,
      'email,title,message\nplain@example.com,Box,hi\njörg@example.com,Box,hi\nada@bücher.example,Box,hi\n',
    );
    const keystore = join(workDir, 'intl.json');
    const smtpEnv = { SMTP_URL: recorder.url, SMTP_FROM: 'Documents <documents@example.com>' };

    let result: Awaited<ReturnType<typeof runCli>>;
    try {
      result = await sendEmailLinks(manifest, keystore, smtpEnv);
    } finally {
      await recorder.close();
    }

    const recipients = recorder.commands.filter((command) => command.startsWith('RCPT TO:'));
    expect(result.code).toBe(3);
    expect(recipients.sort()).toEqual([
      'RCPT TO:<ada@xn--bcher-kva.example>',
      'RCPT TO:<plain@example.com>',
    ]);
    expect(recorder.commands.filter((command) => /[^\p{ASCII}]/u.test(command))).toEqual([]);
    expect(result.stderr).toContain(
      'failed: jörg@example.com: the boxes were sent, but the link was not emailed: jörg@example.com has a local part that is not ASCII, which needs an SMTP server with SMTPUTF8, and this SMTP server does not offer it',
    );

    const withSmtpUtf8 = await startSmtpRecorder({ smtpUtf8: true });
    let again: Awaited<ReturnType<typeof runCli>>;
    try {
      again = await sendEmailLinks(manifest, keystore, { ...smtpEnv, SMTP_URL: withSmtpUtf8.url });
    } finally {
      await withSmtpUtf8.close();
    }

    expect(again.code).toBe(0);
    expect(withSmtpUtf8.commands).toContain('RCPT TO:<jörg@example.com>');
    expect(withSmtpUtf8.commands).toContainEqual(
      expect.stringMatching(/^MAIL FROM:<documents@example\.com> .*SMTPUTF8/),
    );
  });

  it('rejects a non-ASCII SMTP_FROM before sending', async () => {
    const manifest = join(workDir, 'sender.csv');
    await writeFile(manifest, 'email,title,message\nplain@example.com,Box,hi\n');
    const keystore = join(workDir, 'sender.json');

    const { result, commands, smtpHost } = await sendThroughRecorder({
      manifest,
      keystore,
      smtpFrom: 'Dokumente <zoë@example.com>',
      smtpUtf8: false,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: SMTP_FROM: the sender address zoë@example.com has a local part that is not ASCII, which needs an SMTP server that offers SMTPUTF8 (RFC 6531), and the SMTP server at ${smtpHost} does not offer it: use an ASCII sender address or an SMTP server with SMTPUTF8\n`,
    );
    expect(result.stdout).toBe('');
    expect(commands.filter((command) => command.startsWith('EHLO'))).toHaveLength(1);
    expect(commands.filter((command) => command.startsWith('MAIL FROM:'))).toEqual([]);
    await expect(stat(keystore)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${manifest}.journal`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a non-ASCII SMTP_FROM when the SMTP server is down', async () => {
    const manifest = join(workDir, 'smtp-down.csv');
    await writeFile(manifest, 'email,title,message\nplain@example.com,Box,hi\n');

    const result = await sendWithoutServer(manifest, { SMTP_FROM: 'zoë@example.com' });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^provisions: SMTP_FROM: cannot check that the SMTP server at 127\.0\.0\.1:1 offers SMTPUTF8, which the sender address zoë@example\.com needs: .*ECONNREFUSED.*\n$/,
    );
  });

  it('sends domains in ASCII form with SMTPUTF8', async () => {
    const manifest = join(workDir, 'unicode-domains.csv');
    await writeFile(
      manifest,
      'email,title,message\njörg@bücher.example,Box,hi\nlin@bücher.example,Box,hi\n',
    );

    const { result, commands } = await sendThroughRecorder({
      manifest,
      keystore: join(workDir, 'unicode-domains.json'),
      smtpFrom: 'Dokumente <zoë@bücher.example>',
      smtpUtf8: true,
    });

    expect(result.code).toBe(0);
    const senders = commands.filter((command) => command.startsWith('MAIL FROM:'));
    expect(senders).toHaveLength(2);
    for (const sender of senders) {
      expect(sender).toMatch(/^MAIL FROM:<zoë@xn--bcher-kva\.example> .*SMTPUTF8/);
    }
    const recipients = commands.filter((command) => command.startsWith('RCPT TO:'));
    expect(recipients.sort()).toEqual([
      'RCPT TO:<jörg@xn--bcher-kva.example>',
      'RCPT TO:<lin@xn--bcher-kva.example>',
    ]);
  });

  it.each([
    [
      'SMTP_FROM without an address',
      { SMTP_FROM: 'not an address' },
      'SMTP_FROM: expected an email address',
    ],
    [
      'SMTP_FROM with empty brackets',
      { SMTP_FROM: 'Documents <>' },
      'SMTP_FROM: invalid email address',
    ],
    [
      'SMTP_FROM without a domain dot',
      { SMTP_FROM: 'documents@localhost' },
      'SMTP_FROM: invalid email address',
    ],
    [
      'SMTP_FROM with a line break in the name',
      { SMTP_FROM: 'Documents\r\nBcc: x@example.com <documents@example.com>' },
      'SMTP_FROM: the display name contains a control character',
    ],
    [
      'SMTP_URL with another scheme',
      { SMTP_URL: 'http://smtp.example.com' },
      'SMTP_URL: expected an smtp:// or smtps:// URL',
    ],
    ['SMTP_URL without a host', { SMTP_URL: 'smtp://' }, 'SMTP_URL: expected'],
    [
      'SMTP_URL beside SMTP_USER',
      { SMTP_URL: 'smtp://smtp.example.com', SMTP_USER: 'user' },
      'SMTP_URL and SMTP_USER are both set',
    ],
    [
      'SMTP_HOST with a port',
      { SMTP_URL: '', SMTP_HOST: 'smtp.example.com:25' },
      'SMTP_HOST: expected a host name',
    ],
    [
      'SMTP_PORT 0',
      { SMTP_URL: '', SMTP_HOST: 'smtp.example.com', SMTP_PORT: '0' },
      'SMTP_PORT: expected a port number from 1 to 65535',
    ],
    [
      'SMTP_PORT 70000',
      { SMTP_URL: '', SMTP_HOST: 'smtp.example.com', SMTP_PORT: '70000' },
      'SMTP_PORT: expected a port number from 1 to 65535',
    ],
    [
      'SMTP_USER without SMTP_PASS',
      { SMTP_URL: '', SMTP_HOST: 'smtp.example.com', SMTP_USER: 'user' },
      'SMTP_USER is set without SMTP_PASS',
    ],
  ])('rejects %s before any request', async (_name, smtpEnv, message) => {
    const result = await sendWithoutServer(join(workDir, 'recipients.csv'), smtpEnv);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^provisions: ${message.replace(/[.*+?()[\]\\/]/g, '\\$&')}`),
    );
    expect(result.stderr.split('\n')).toHaveLength(2);
  });

  it('rejects --email-links without --manifest', async () => {
    const result = await runCli(
      sendArgsWithoutServer('k.json', ...boxOptions('a@example.com', 'T', 'm'), '--email-links'),
      {
        env: {
          PROVISIONS_CLIENT_SECRET: 'secret',
          SMTP_URL: 'smtp://127.0.0.1:1',
          SMTP_FROM: 'd@example.com',
        },
      },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: --email-links works only with --manifest\n');
  });

  it('requires SMTP_FROM', async () => {
    const result = await runCli(
      [
        'send',
        '--server',
        server.url,
        '--org-id',
        server.organizationId,
        '--keystore',
        join(workDir, 'k.json'),
        '--manifest',
        join(workDir, 'recipients.csv'),
        '--email-links',
      ],
      { env: { PROVISIONS_CLIENT_SECRET: 'secret', SMTP_URL: 'smtp://127.0.0.1:1' } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing SMTP_FROM');
  });
});
