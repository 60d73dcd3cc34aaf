import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

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

describe('send --email-links', () => {
  it('emails each recipient exactly their own link once', async () => {
    const emails = ['ada@example.com', 'grace@example.org', 'alan@example.net'];
    const manifest = join(workDir, 'recipients.csv');
    await writeFile(
      manifest,
      `email,title,message\n${emails.map((email) => `${email},Box,hello`).join('\n')}\n`,
    );
    const linksOut = join(workDir, 'links.csv');
    const env = {
      PROVISIONS_SERVER: server.url,
      PROVISIONS_ORG_ID: server.organizationId,
      PROVISIONS_CLIENT_SECRET: server.clientSecret,
      PROVISIONS_KEYSTORE_PASSPHRASE: 'email test passphrase',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      SMTP_FROM: 'Documents <documents@example.com>',
    };
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, 'keystore.json'),
      '--email-links',
      '--links-out',
      linksOut,
    ];

    const result = await runCli(args, { env });
    const again = await runCli(args, { env });

    expect(result.stderr).not.toContain('#provision:');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
    expect(again.code).toBe(0);
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
