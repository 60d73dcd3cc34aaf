import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DATABASE_FILE_NAME } from '@provisions/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { linesStarting, manifestArgs, writeManifest } from './support/manifest-file.js';
import { runCli } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-restore-'));
  env = serverEnv(server, 'restore test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Deletes the provision of `email` and its invitations from the server's database, as a
 * restore of a backup made before the provision was created does.
 */
function forgetProvision(email: string): void {
  const database = new Database(join(server.dataDir, DATABASE_FILE_NAME));
  try {
    database
      .prepare(
        'DELETE FROM crypto_actions WHERE provision_public_key IN (SELECT public_key FROM provisions WHERE email = ?)',
      )
      .run(email);
    database.prepare('DELETE FROM provisions WHERE email = ?').run(email);
  } finally {
    database.close();
  }
}

/** Returns the provision public key that `keystore list` shows for `email`. */
async function listedKey(keystore: string, email: string): Promise<string | undefined> {
  const listed = await runCli(['keystore', 'list', '--json', '--keystore', keystore], { env });
  expect(listed.code).toBe(0);
  const entries = JSON.parse(listed.stdout).entries as {
    email: string;
    provision_public_key: string;
  }[];
  return entries.find((entry) => entry.email === email)?.provision_public_key;
}

/** Returns the failure line of a recipient whose provision the server lost. */
function unknownProvisionLine(email: string, publicKey: string): string {
  return `failed: ${email}: the server has no active provision ${publicKey} for the link recorded in the keystore, so that link no longer opens anything (the server was restored from a backup made before the provision was created, or the provision was revoked without this keystore): run "provisions keystore revoke ${email}" to drop the entry, then send to this person again, which creates a new link that they must receive`;
}

describe('send --manifest after the server lost provisions', () => {
  it('fails a finished recipient, then reports it revoked', async () => {
    const manifest = await writeManifest(workDir, 'march', 2);
    const keystore = join(workDir, 'march-keystore.json');
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const lostKey = await listedKey(keystore, 'march0@example.com');

    forgetProvision('march0@example.com');
    const again = await runCli(manifestArgs(manifest, keystore, '--print-links'), { env });

    expect(again.code).toBe(3);
    expect(again.stdout.split('\n').map((line) => line.split(',')[0])).toEqual([
      'email',
      'march1@example.com',
      '',
    ]);
    expect(linesStarting(again.stderr, 'failed: ')).toEqual([
      unknownProvisionLine('march0@example.com', lostKey as string),
    ]);
    expect(again.stderr).not.toContain('to retry the failed recipients');
    expect(again.stderr.trimEnd().split('\n').at(-1)).toBe(
      `1 failed recipient needs the step that its failure line names, because running the same command again alone fails it again (journal ${manifest}.journal)`,
    );

    const revoked = await runCli(
      ['keystore', 'revoke', 'march0@example.com', '--keystore', keystore, '--json'],
      { env },
    );
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout).already_revoked).toBe(true);

    const afterRevoke = await runCli(manifestArgs(manifest, keystore), { env });
    expect(afterRevoke.code).toBe(0);
    expect(afterRevoke.stderr).toMatch(/^recipients: 1 of 2 done, 0 failed, 1 revoked \(/m);
  });

  it('keeps the link of a lost provision in a new manifest', async () => {
    const earlier = await writeManifest(workDir, 'april', 2);
    const keystore = join(workDir, 'april-keystore.json');
    const first = await runCli(manifestArgs(earlier, keystore), { env });
    expect(first.code).toBe(0);
    const lostKey = await listedKey(keystore, 'april0@example.com');
    forgetProvision('april0@example.com');

    const next = join(workDir, 'april-next.csv');
    await writeFile(next, 'email,title,message\napril0@example.com,Next box,hello again\n');
    const sent = await runCli(manifestArgs(next, keystore), { env });

    expect(sent.code).toBe(3);
    expect(linesStarting(sent.stderr, 'failed: ')).toEqual([
      unknownProvisionLine('april0@example.com', lostKey as string),
    ]);
    expect(await listedKey(keystore, 'april0@example.com')).toBe(lostKey);

    // The way out that the message gives: drop the entry, then the same command sends.
    const revoked = await runCli(
      ['keystore', 'revoke', 'april0@example.com', '--keystore', keystore],
      { env },
    );
    expect(revoked.code).toBe(0);
    const resent = await runCli(manifestArgs(next, keystore, '--json'), { env });
    expect(resent.code).toBe(0);
    const recipient = JSON.parse(resent.stdout).recipients[0];
    expect(recipient.status).toBe('done');
    expect(recipient.link_reused).toBe(false);
    expect(recipient.provision_public_key).not.toBe(lostKey);
  });

  it('names a replaced entry as such', async () => {
    const manifest = await writeManifest(workDir, 'may', 1);
    const keystore = join(workDir, 'may-keystore.json');
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const sentKey = await listedKey(keystore, 'may0@example.com');

    // Revoked on the server only, then sent to with send --to, which replaces the entry.
    const revoked = await runCli(['revoke', sentKey as string], { env });
    expect(revoked.code).toBe(0);
    const single = await runCli(
      [
        'send',
        '--keystore',
        keystore,
        '--to',
        'may0@example.com',
        '--title',
        'T',
        '--message',
        'm',
      ],
      { env },
    );
    expect(single.code).toBe(0);
    const currentKey = await listedKey(keystore, 'may0@example.com');
    expect(currentKey).not.toBe(sentKey);

    const again = await runCli(manifestArgs(manifest, keystore), { env });

    expect(again.code).toBe(3);
    const failed = linesStarting(again.stderr, 'failed: ');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(
      `failed: may0@example.com: the keystore entry of this recipient contains another provision (public key ${currentKey}, created `,
    );
    expect(failed[0]).toContain(`than the one this run sent to (${sentKey})`);
    expect(failed[0]).not.toContain('restore the keystore from a backup');
  });
});
