import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { unwrap } from '@provisions/api';
import { connectOrganization, sealTextMessage } from '@provisions/core';
import { generateKeyPair } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, sendArgs, UNKNOWN_ORGANIZATION_ID } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const passphrase = 'cli test passphrase';

let server: TestServer;
let workDir: string;
let organizationEnv: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-work-'));
  organizationEnv = serverEnv(server, passphrase);
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Sends one box with one message to `email` and returns its link and box id. */
async function sendOneBox(
  email: string,
  message: string,
): Promise<{ link: string; boxId: string }> {
  const sent = await runCli(
    [...sendArgs(join(workDir, `${email}.json`), email, 'Box', message), '--json'],
    { env: organizationEnv },
  );
  expect(sent.code).toBe(0);
  const recipient = (JSON.parse(sent.stdout) as SendSummary).recipients[0];
  return { link: recipient?.link as string, boxId: recipient?.boxes[0]?.id as string };
}

function redeemTo(link: string, email: string, out: string) {
  return runCli(['redeem', link, '--email', email, '--outbox', server.outboxPath, '--out', out]);
}

interface SendSummary {
  server: string;
  organization_id: string;
  recipients: {
    email: string;
    delivery: string;
    link: string | null;
    link_reused: boolean | null;
    provision_public_key: string | null;
    boxes: { id: string; title: string }[];
  }[];
}

describe('provisions send and redeem', () => {
  it('round-trips one box with --json', async () => {
    const keystore = join(workDir, 'round-trip.json');

    const sent = await runCli(
      [
        ...sendArgs(
          keystore,
          'Grace@Example.org',
          'Signed contract',
          'Your contract is signed.',
          'Start date: 3 March.',
        ),
        '--json',
      ],
      { env: organizationEnv },
    );

    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const summary = JSON.parse(sent.stdout) as SendSummary;
    expect(summary.server).toBe(server.url);
    expect(summary.organization_id).toBe(server.organizationId);
    expect(summary.recipients).toHaveLength(1);
    const [recipient] = summary.recipients;
    expect(recipient?.email).toBe('grace@example.org');
    expect(recipient?.delivery).toBe('provision');
    expect(recipient?.link_reused).toBe(false);
    expect(recipient?.link).toMatch(new RegExp(`^${server.url}/join#provision:[A-Za-z0-9_-]{44}$`));
    expect((await stat(keystore)).mode & 0o777).toBe(0o600);
    const keystoreText = await readFile(keystore, 'utf8');
    expect(JSON.parse(keystoreText.split('\n')[0] as string).format).toBe('provisions-keystore');
    expect(keystoreText).not.toContain('grace@example.org');

    const redeemed = await runCli([
      'redeem',
      recipient?.link as string,
      '--email',
      'grace@example.org',
      '--outbox',
      server.outboxPath,
      '--json',
    ]);

    expect(redeemed.stderr).toBe('');
    expect(redeemed.code).toBe(0);
    const opened = JSON.parse(redeemed.stdout);
    expect(opened.email).toBe('grace@example.org');
    expect(opened.provision_public_key).toBe(recipient?.provision_public_key);
    expect(opened.boxes).toEqual([
      {
        id: recipient?.boxes[0]?.id,
        title: 'Signed contract',
        messages: [
          {
            id: expect.any(String),
            text: 'Your contract is signed.',
            sender: { type: 'organization', id: server.organizationId },
          },
          {
            id: expect.any(String),
            text: 'Start date: 3 March.',
            sender: { type: 'organization', id: server.organizationId },
          },
        ],
        unreadable_messages: [],
      },
    ]);
  });

  it('redeems a link read from standard input', async () => {
    const keystore = join(workDir, 'stdin-keystore.json');
    const sent = await runCli(
      [...sendArgs(keystore, 'stdin@example.org', 'Piped', 'Read from a pipe.'), '--json'],
      { env: organizationEnv },
    );
    const link = (JSON.parse(sent.stdout) as { recipients: { link: string }[] }).recipients[0]
      ?.link as string;

    const redeemed = await runCli(
      ['redeem', '-', '--email', 'stdin@example.org', '--outbox', server.outboxPath, '--json'],
      { input: `${link}\n` },
    );

    expect(redeemed.stderr).toBe('');
    expect(redeemed.code).toBe(0);
    expect(JSON.parse(redeemed.stdout).boxes[0].messages[0].text).toBe('Read from a pipe.');
  });

  it('sends a manifest, reuses links, and prints links only on stdout', async () => {
    const keystore = join(workDir, 'manifest-keystore.json');
    const manifest = join(workDir, 'recipients.json');
    await writeFile(
      manifest,
      JSON.stringify({
        recipients: [
          { email: 'alan@example.net', boxes: [{ title: 'Payslip', messages: ['Paid.'] }] },
          {
            email: 'hedy@example.com',
            boxes: [
              { title: 'One', messages: ['first'] },
              { title: 'Two', messages: ['second'] },
            ],
          },
        ],
      }),
    );

    const first = await runCli(
      ['send', '--keystore', keystore, '--manifest', manifest, '--print-links'],
      { env: organizationEnv },
    );
    const second = await runCli(
      [
        'send',
        '--keystore',
        keystore,
        '--manifest',
        manifest,
        '--journal',
        join(workDir, 'second-run.journal'),
        // The keystore records the first run of this content, so a new run must ask for it.
        '--send-again',
        '--json',
      ],
      { env: organizationEnv },
    );

    expect(first.code).toBe(0);
    expect(first.stderr).not.toContain('#provision:');
    expect(first.stderr).toContain('recipients: 2 of 2 done, 0 failed');
    expect(first.stderr).toContain('boxes created: 3 (3 by this run)');
    expect(first.stderr).toContain('provisions created: 2, reused: 0');
    expect(first.stderr).not.toContain('emails sent');
    const firstLinks = first.stdout.match(/http:\S+#provision:\S+/g) ?? [];
    expect(firstLinks).toHaveLength(2);
    expect(first.stdout.split('\n')[0]).toBe('email,link');

    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout) as SendSummary;
    const secondLinks = summary.recipients.map((recipient) => recipient.link);
    expect([...secondLinks].sort()).toEqual([...firstLinks].sort());
    expect(first.stdout).toContain(`alan@example.net,${secondLinks[0]}`);
    expect(summary.recipients.map((recipient) => recipient.link_reused)).toEqual([true, true]);
    expect(summary.recipients[1]?.boxes.map((box) => box.title)).toEqual(['One', 'Two']);

    const redeemed = await runCli([
      'redeem',
      secondLinks[1] as string,
      '--email',
      'hedy@example.com',
      '--outbox',
      server.outboxPath,
    ]);

    expect(redeemed.code).toBe(0);
    expect(redeemed.stdout.match(/^One {2}\(box /gm)).toHaveLength(2);
    expect(redeemed.stdout.match(/^ {2}- second$/gm)).toHaveLength(2);
  });

  it('rejects a wrong keystore passphrase with exit code 1', async () => {
    const keystore = join(workDir, 'passphrase.json');
    const send = (env: Record<string, string>) =>
      runCli(sendArgs(keystore, 'ida@example.com', 'Box', 'hi'), {
        env: { ...organizationEnv, ...env },
      });
    expect((await send({})).code).toBe(0);

    const result = await send({ PROVISIONS_KEYSTORE_PASSPHRASE: 'something else' });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^provisions: the passphrase is wrong for keystore .*passphrase\.json/,
    );
    expect(result.stderr).not.toContain('something else');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('requires the client secret from the environment', async () => {
    const { PROVISIONS_CLIENT_SECRET: _secret, ...env } = organizationEnv;

    const result = await runCli(sendArgs(join(workDir, 'k.json'), 'a@example.com', 't', 'm'), {
      env,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: missing PROVISIONS_CLIENT_SECRET in the environment\n');
  });

  it('requires a passphrase when there is no terminal', async () => {
    const { PROVISIONS_KEYSTORE_PASSPHRASE: _passphrase, ...env } = organizationEnv;

    const result = await runCli(sendArgs(join(workDir, 'k.json'), 'a@example.com', 't', 'm'), {
      env,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set PROVISIONS_KEYSTORE_PASSPHRASE');
  });

  it('names an empty passphrase variable', async () => {
    const result = await runCli(sendArgs(join(workDir, 'k.json'), 'a@example.com', 't', 'm'), {
      env: { ...organizationEnv, PROVISIONS_KEYSTORE_PASSPHRASE: '' },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: cannot ask "New keystore passphrase:" without a terminal: PROVISIONS_KEYSTORE_PASSPHRASE is set but empty, so set it to the keystore passphrase, or unset it and run the command in a terminal to type the passphrase\n',
    );
  });

  it('reports wrong organization credentials with exit code 1', async () => {
    const result = await runCli(sendArgs(join(workDir, 'creds.json'), 'a@example.com', 't', 'm'), {
      env: { ...organizationEnv, PROVISIONS_CLIENT_SECRET: 'not-the-secret' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^provisions: the server at \S+ rejected the organization's credentials \(HTTP 401 invalid_client\): check the organization id \(--org-id or PROVISIONS_ORG_ID\) and the client secret \(PROVISIONS_CLIENT_SECRET\)\n$/,
    );
    expect(result.stderr).not.toContain('not-the-secret');
  });

  it('explains a damaged link without echoing the share', async () => {
    const share = 'r7g8gv-H_jJ9rlP20XVTrTJOz_B5kaAG1CNRrBzCxOIk'.slice(0, 43);

    const result = await runCli([
      'redeem',
      `${server.url}/join#provision:${share}`,
      '--email',
      'grace@example.org',
      '--code',
      '123456',
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: invalid invitation link: the key share must be 44 characters, received 43; the link was probably cut off or extended when it was copied\n',
    );
    expect(result.stderr).not.toContain(share);
    expect(result.stdout).toBe('');
  });

  it('explains a link without its fragment', async () => {
    const result = await runCli([
      'redeem',
      `${server.url}/join`,
      '--email',
      'grace@example.org',
      '--code',
      '123456',
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the "#provision:…" part is missing');
  });

  it('reports a link for another person as not found', async () => {
    const sent = await runCli(
      [...sendArgs(join(workDir, 'other.json'), 'rosalind@example.com', 'Private', 'x'), '--json'],
      { env: organizationEnv },
    );
    const link = (JSON.parse(sent.stdout) as SendSummary).recipients[0]?.link as string;

    const result = await runCli([
      'redeem',
      link,
      '--email',
      'eve@example.com',
      '--outbox',
      server.outboxPath,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^provisions: no provision for this invitation link is addressed to the signed-in email/,
    );
    expect(result.stdout).toBe('');
  });

  it('revoke takes a key starting with a hyphen', async () => {
    // 1 in 64 public keys starts with "-" in base64url.
    const publicKey = `-${'A'.repeat(42)}`;

    const result = await runCli(['revoke', publicKey, '--json'], { env: organizationEnv });

    // The key reaches the server, which knows no such provision.
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`provision ${publicKey} not found`);
  });

  it('revoke unblocks a provision missing from the keystore', async () => {
    const sendTo = (keystore: string) =>
      runCli([...sendArgs(join(workDir, keystore), 'joan@example.com', 'Box', 'hi'), '--json'], {
        env: organizationEnv,
      });
    const first = JSON.parse((await sendTo('first.json')).stdout) as SendSummary;
    const publicKey = first.recipients[0]?.provision_public_key as string;

    const blocked = await sendTo('second.json');
    const revoked = await runCli(['revoke', publicKey, '--json'], { env: organizationEnv });
    const after = await sendTo('second.json');

    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(`public key ${publicKey}`);
    expect(blocked.stderr).toContain('provisions revoke <public key>');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({
      revoked: publicKey,
      already_revoked: false,
      removed_from_keystore: null,
    });
    expect(after.code).toBe(0);
    const fresh = (JSON.parse(after.stdout) as SendSummary).recipients[0];
    expect(fresh?.link_reused).toBe(false);
    expect(fresh?.provision_public_key).not.toBe(publicKey);
  });

  it.each([
    ['short', 'short'],
    ['not canonical', `${'A'.repeat(42)}B`],
  ])('rejects a %s public key for revoke with exit code 2', async (_case, key) => {
    const result = await runCli(['revoke', key], { env: organizationEnv });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('public key: expected 43 base64url characters of 32 bytes');
  });

  it('links to --app-url and redeems with --server', async () => {
    const sent = await runCli(
      [
        'send',
        '--keystore',
        join(workDir, 'app-url.json'),
        '--app-url',
        'https://app.example.com/portal/',
        '--to',
        'emmy@example.com',
        '--title',
        'Portal',
        '--message',
        'Through the app.',
        '--json',
      ],
      { env: organizationEnv },
    );
    const link = (JSON.parse(sent.stdout) as SendSummary).recipients[0]?.link as string;

    const redeemed = await runCli([
      'redeem',
      link,
      '--email',
      'emmy@example.com',
      '--server',
      server.url,
      '--outbox',
      server.outboxPath,
    ]);

    expect(link).toMatch(/^https:\/\/app\.example\.com\/portal\/join#provision:[A-Za-z0-9_-]{44}$/);
    expect(redeemed.code).toBe(0);
    expect(redeemed.stdout).toBe(
      `Portal  (box ${(JSON.parse(sent.stdout) as SendSummary).recipients[0]?.boxes[0]?.id})\n  - Through the app.\n`,
    );
  });

  it('saves the boxes of a link with --out', async () => {
    const sent = await runCli(
      [
        ...sendArgs(
          join(workDir, 'saved.json'),
          'saved@example.com',
          'Saved box',
          'first message',
          'second message',
        ),
        '--json',
      ],
      { env: organizationEnv },
    );
    expect(sent.code).toBe(0);
    const summary = JSON.parse(sent.stdout) as SendSummary;
    const link = summary.recipients[0]?.link as string;
    const boxId = summary.recipients[0]?.boxes[0]?.id as string;
    const out = join(workDir, 'saved-boxes');

    const redeemed = await runCli([
      'redeem',
      link,
      '--email',
      'saved@example.com',
      '--outbox',
      server.outboxPath,
      '--out',
      out,
    ]);

    expect(redeemed.code).toBe(0);
    expect(await readFile(join(out, boxId, 'title.txt'), 'utf8')).toBe('Saved box\n');
    expect(await readFile(join(out, boxId, 'message-001.txt'), 'utf8')).toBe('first message');
    expect(await readFile(join(out, boxId, 'message-002.txt'), 'utf8')).toBe('second message');
    expect((await stat(join(out, boxId, 'message-001.txt'))).mode & 0o777).toBe(0o600);
    expect(redeemed.stdout.trim().split('\n')).toHaveLength(3);
    expect(redeemed.stderr).toBe(`1 box saved to ${out}\n`);
  });

  it('replaces a symbolic link at a saved file instead of following it', async () => {
    const { link, boxId } = await sendOneBox('link-file@example.com', 'secret message');
    const out = join(workDir, 'shared-out');
    await mkdir(join(out, boxId), { recursive: true });
    const victim = join(workDir, 'victim.txt');
    await writeFile(victim, 'kept as it is', { mode: 0o644 });
    await symlink(victim, join(out, boxId, 'message-001.txt'));

    const redeemed = await redeemTo(link, 'link-file@example.com', out);

    expect(redeemed.stderr).toBe(`1 box saved to ${out}\n`);
    expect(redeemed.code).toBe(0);
    expect(await readFile(victim, 'utf8')).toBe('kept as it is');
    expect((await stat(victim)).mode & 0o777).toBe(0o644);
    const saved = await lstat(join(out, boxId, 'message-001.txt'));
    expect(saved.isFile()).toBe(true);
    expect(saved.mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, boxId, 'message-001.txt'), 'utf8')).toBe('secret message');
  });

  it('rejects a symbolic link at a box directory', async () => {
    const { link, boxId } = await sendOneBox('link-directory@example.com', 'secret message');
    const out = join(workDir, 'shared-out-directory');
    const elsewhere = join(workDir, 'elsewhere');
    await mkdir(out);
    await mkdir(elsewhere);
    await symlink(elsewhere, join(out, boxId));

    const redeemed = await redeemTo(link, 'link-directory@example.com', out);

    expect(redeemed.code).toBe(1);
    expect(redeemed.stderr).toBe(
      `provisions: --out: cannot save the boxes in ${out}: ${join(out, boxId)} is a symbolic link, not a directory; remove it, or run the command again with another --out\n`,
    );
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('exits 1 when a message cannot be opened', async () => {
    const { link, boxId } = await sendOneBox('unreadable@example.com', 'readable message');
    const organization = await connectOrganization({
      baseUrl: server.url,
      clientId: server.organizationId,
      clientSecret: server.clientSecret,
    });
    // Sealed to another key but labelled with the box's key, which the server checks, so
    // the recipient's decryption fails.
    const box = unwrap(
      await organization.client.GET('/boxes/{id}', { params: { path: { id: boxId } } }),
    );
    const otherKey = await generateKeyPair();
    const sealed = await sealTextMessage('lost', otherKey.publicKey);
    unwrap(
      await organization.client.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: { type: 'msg.text', content: { ...sealed, public_key: box.public_key } },
      }),
    );

    for (const json of [false, true]) {
      const redeemed = await runCli([
        'redeem',
        link,
        '--email',
        'unreadable@example.com',
        '--outbox',
        server.outboxPath,
        ...(json ? ['--json'] : []),
      ]);

      expect(redeemed.code, `--json: ${json}`).toBe(1);
      expect(redeemed.stdout).toContain('readable message');
      expect(redeemed.stderr).toMatch(
        new RegExp(`^provisions: could not open 1 message of box ${boxId}: .+; ask the sender`),
      );
      expect(redeemed.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('leaves no journal when a manifest run fails its first checks', async () => {
    const keystore = join(workDir, 'preflight-keystore.json');
    const manifest = join(workDir, 'preflight.json');
    const journal = `${manifest}.journal`;
    await writeFile(
      manifest,
      JSON.stringify({
        recipients: [
          { email: 'preflight@example.com', boxes: [{ title: 'Box', messages: ['m'] }] },
        ],
      }),
    );
    const send = (env: Record<string, string>) =>
      runCli(['send', '--keystore', keystore, '--manifest', manifest], {
        env: { ...organizationEnv, ...env },
      });
    const created = await runCli(sendArgs(keystore, 'first@example.com', 'B', 'm'), {
      env: organizationEnv,
    });
    expect(created.code).toBe(0);

    const wrongPassphrase = await send({ PROVISIONS_KEYSTORE_PASSPHRASE: 'not the passphrase' });
    const wrongSecret = await send({ PROVISIONS_CLIENT_SECRET: 'not-the-secret' });
    const wrongOrganization = await send({
      PROVISIONS_ORG_ID: UNKNOWN_ORGANIZATION_ID,
    });

    expect(wrongPassphrase.code).toBe(1);
    expect(wrongSecret.code).toBe(1);
    expect(wrongOrganization.code).not.toBe(0);
    await expect(stat(journal)).rejects.toMatchObject({ code: 'ENOENT' });

    const corrected = await send({});

    expect(corrected.code).toBe(0);
    expect(corrected.stderr).toContain('recipients: 1 of 1 done');
    expect((await readFile(journal, 'utf8')).split('\n')[0]).toContain('"type":"run"');
  });

  it('prints a link only with --print-links', async () => {
    const args = sendArgs(join(workDir, 'print-links.json'), 'printed@example.com', 'Box', 'hello');

    const quiet = await runCli(args, { env: organizationEnv });
    const printed = await runCli([...args, '--print-links'], { env: organizationEnv });

    expect(quiet.code).toBe(0);
    expect(quiet.stdout).not.toContain('#provision:');
    expect(quiet.stderr).not.toContain('#provision:');
    expect(quiet.stdout).toContain('link not shown: add --print-links');
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^ {2}http:\S+#provision:[A-Za-z0-9_-]{44}$/m);
    expect(printed.stderr).not.toContain('#provision:');
  });
});
