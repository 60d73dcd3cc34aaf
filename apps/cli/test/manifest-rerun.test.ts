import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { linesStarting, manifestArgs, writeManifest } from './support/manifest-file.js';
import { runCli } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-rerun-'));
  env = serverEnv(server, 'rerun test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest run again after it finished', () => {
  it('counts lost links as failed in progress', async () => {
    const manifest = await writeManifest(workDir, 'lost', 3);
    const first = await runCli(manifestArgs(manifest, join(workDir, 'lost-keystore.json')), {
      env,
    });
    expect(first.code).toBe(0);

    // Another keystore has none of the entries the first run stored.
    const again = await runCli(manifestArgs(manifest, join(workDir, 'empty-keystore.json')), {
      env,
    });

    expect(again.code).toBe(3);
    expect(linesStarting(again.stderr, 'progress: ').at(-1)).toMatch(
      /^progress: 3\/3 recipients, 3 failed, /,
    );
    expect(again.stderr).toMatch(/^recipients: 0 of 3 done, 3 failed \(/m);
    expect(linesStarting(again.stderr, 'failed: ')).toEqual(
      [0, 1, 2].map(
        (index) =>
          `failed: lost${index}@example.com: the keystore entry of this recipient's provision is missing, so the link cannot be rebuilt: restore the keystore from a backup`,
      ),
    );
  });

  it('reports revoked recipients without links', async () => {
    const manifest = await writeManifest(workDir, 'revoked', 4);
    const keystore = join(workDir, 'revoked-keystore.json');
    const first = await runCli(manifestArgs(manifest, keystore, '--json'), { env });
    expect(first.code).toBe(0);
    const publicKeys = (
      JSON.parse(first.stdout).recipients as { provision_public_key: string }[]
    ).map((recipient) => recipient.provision_public_key);

    const byEmail = await runCli(
      ['keystore', 'revoke', 'revoked1@example.com', '--keystore', keystore],
      { env },
    );
    const byKey = await runCli(['revoke', publicKeys[2] as string, '--keystore', keystore], {
      env,
    });
    const again = await runCli(manifestArgs(manifest, keystore, '--print-links'), { env });

    expect(byEmail.code).toBe(0);
    expect(byKey.code).toBe(0);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n').map((line) => line.split(',')[0])).toEqual([
      'email',
      'revoked0@example.com',
      'revoked3@example.com',
      '',
    ]);
    expect(linesStarting(again.stderr, 'progress: ').at(-1)).toMatch(
      /^progress: 4\/4 recipients, 0 failed, 2 revoked, /,
    );
    expect(again.stderr).toMatch(/^recipients: 2 of 4 done, 0 failed, 2 revoked \(/m);
    expect(linesStarting(again.stderr, 'failed: ')).toEqual([]);
    expect(linesStarting(again.stderr, 'revoked: ')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^revoked: revoked1@example\\.com: provision ${publicKeys[1]} was revoked at \\d{4}-\\d{2}-\\d{2}T[0-9:.]+Z, so the run gives no link for it$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^revoked: revoked2@example\\.com: provision ${publicKeys[2]} was revoked at `),
      ),
    ]);
    expect(again.stderr).toContain(
      'to reach a revoked recipient again, put them in a new manifest and send it, which creates a new link',
    );
    expect(again.stderr).not.toContain('run the same command again to retry');
  });

  it('keeps a revocation after relinking', async () => {
    const manifest = await writeManifest(workDir, 'relinked', 2);
    const keystore = join(workDir, 'relinked-keystore.json');
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const revoked = await runCli(
      ['keystore', 'revoke', 'relinked0@example.com', '--keystore', keystore, '--json'],
      { env },
    );
    expect(revoked.code).toBe(0);
    const revokedKey = JSON.parse(revoked.stdout).revoked as string;

    // A new manifest with only the revoked recipient creates a new provision and link.
    const single = join(workDir, 'relinked-single.csv');
    await writeFile(single, 'email,title,message\nrelinked0@example.com,Box again,hi\n');
    const resent = await runCli(manifestArgs(single, keystore, '--json'), { env });
    const again = await runCli(manifestArgs(manifest, keystore, '--json'), { env });

    expect(resent.code).toBe(0);
    const resentRecipient = JSON.parse(resent.stdout).recipients[0];
    expect(resentRecipient.status).toBe('done');
    expect(resentRecipient.link_reused).toBe(false);
    expect(resentRecipient.provision_public_key).not.toBe(revokedKey);
    expect(again.code).toBe(0);
    const document = JSON.parse(again.stdout);
    expect(document.summary.revoked).toBe(1);
    expect(document.summary.failed).toBe(0);
    expect(document.recipients[0]).toMatchObject({
      email: 'relinked0@example.com',
      status: 'revoked',
      link: null,
      provision_public_key: revokedKey,
      revoked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(document.recipients[1]).toMatchObject({ status: 'done', link: expect.any(String) });
  });
});
