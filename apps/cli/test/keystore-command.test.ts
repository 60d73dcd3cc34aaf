import { lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-keystore-'));
  env = {
    ...serverEnv(server, 'keystore command passphrase'),
    PROVISIONS_KEYSTORE: join(workDir, 'keystore.json'),
  };
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('provisions keystore', () => {
  it('export names a path with a line feed on one line', async () => {
    const linkEnv = { ...env, PROVISIONS_KEYSTORE: join(workDir, 'line-feed-keystore.json') };
    const sent = await runCli(
      ['send', '--to', 'kai@example.com', '--title', 'Box', '--message', 'hello'],
      { env: linkEnv },
    );
    expect(sent.code).toBe(0);
    const out = join(workDir, 'new\nline.csv');

    const exported = await runCli(['keystore', 'export', '--out', out], { env: linkEnv });

    expect(exported.code).toBe(0);
    expect(exported.stderr).toBe(
      `1 link written to ${join(workDir, 'new')}\\nline.csv (mode 0600)\n`,
    );
    expect(await readFile(out, 'utf8')).toMatch(/^email,link\nkai@example\.com,http/);
  });

  it('export replaces a dangling link', async () => {
    const linkEnv = { ...env, PROVISIONS_KEYSTORE: join(workDir, 'link-keystore.json') };
    const sent = await runCli(
      ['send', '--to', 'lin@example.com', '--title', 'Box', '--message', 'hello'],
      { env: linkEnv },
    );
    expect(sent.code).toBe(0);
    const out = join(workDir, 'dangling-links.csv');
    const target = join(workDir, 'removed', 'links.csv');
    await symlink(target, out);

    const exported = await runCli(['keystore', 'export', '--out', out], { env: linkEnv });

    expect(exported.stderr).toBe(`1 link written to ${out} (mode 0600)\n`);
    expect(exported.code).toBe(0);
    expect((await lstat(out)).isFile()).toBe(true);
    expect((await readFile(out, 'utf8')).split('\n')[1]).toMatch(/^lin@example\.com,http/);
    await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lists, exports and revokes entries', async () => {
    const manifest = join(workDir, 'recipients.csv');
    await writeFile(
      manifest,
      'email,title,message\nada@example.com,Box,hello\ngrace@example.org,Box,hello\n',
    );
    const sent = await runCli(['send', '--manifest', manifest, '--json'], { env });
    expect(sent.code).toBe(0);
    const links = new Map(
      (JSON.parse(sent.stdout).recipients as { email: string; link: string }[]).map((recipient) => [
        recipient.email,
        recipient.link,
      ]),
    );

    const listed = await runCli(['keystore', 'list', '--json'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain('#provision:');
    const entries = JSON.parse(listed.stdout).entries as { email: string }[];
    expect(entries.map((entry) => entry.email)).toEqual(['ada@example.com', 'grace@example.org']);

    const unasked = await runCli(['keystore', 'export'], { env });
    expect(unasked.code).toBe(2);
    expect(unasked.stdout).toBe('');

    const out = join(workDir, 'links.csv');
    const exported = await runCli(['keystore', 'export', '--out', out], { env });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe('');
    expect(exported.stderr).not.toContain('#provision:');
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await readFile(out, 'utf8')).split('\n')).toEqual([
      'email,link',
      `ada@example.com,${links.get('ada@example.com')}`,
      `grace@example.org,${links.get('grace@example.org')}`,
      '',
    ]);

    const revoked = await runCli(['keystore', 'revoke', 'Ada@Example.com', '--json'], { env });
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({
      email: 'ada@example.com',
      revoked: expect.stringMatching(/^[\w-]{43}$/),
      already_revoked: false,
      removed_from_keystore: 'ada@example.com',
    });

    const after = await runCli(['keystore', 'list', '--json'], { env });
    const listedAfter = JSON.parse(after.stdout);
    expect((listedAfter.entries as { email: string }[]).map((entry) => entry.email)).toEqual([
      'grace@example.org',
    ]);
    expect(listedAfter.revocations).toEqual([
      {
        email: 'ada@example.com',
        provision_public_key: JSON.parse(revoked.stdout).revoked,
        revoked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    ]);
    const listedOne = await runCli(['keystore', 'list'], { env });
    const [graceLine, adaLine, ...rest] = listedOne.stdout.split('\n');
    expect(graceLine).toMatch(/^grace@example\.org {2}[\w-]{43} {2}\d{4}-/);
    expect(adaLine).toBe(
      `ada@example.com  ${listedAfter.revocations[0].provision_public_key}  revoked ${listedAfter.revocations[0].revoked_at}`,
    );
    expect(rest).toEqual(['']);
    expect(listedOne.stderr).toBe(`1 entry and 1 revocation in ${env.PROVISIONS_KEYSTORE}\n`);
    const exportedOne = await runCli(['keystore', 'export', '--out', out], { env });
    expect(exportedOne.stderr).toBe(`1 link written to ${out} (mode 0600)\n`);
    const redeemed = await runCli([
      'redeem',
      links.get('ada@example.com') as string,
      '--email',
      'ada@example.com',
      '--outbox',
      server.outboxPath,
    ]);
    expect(redeemed.code).toBe(1);
    expect(redeemed.stderr).toContain('no provision for this invitation link');
  });

  it('revoke reports an earlier revocation', async () => {
    const manifest = join(workDir, 'twice.csv');
    await writeFile(manifest, 'email,title,message\nbo@example.org,Box,hello\n');
    const sent = await runCli(['send', '--manifest', manifest, '--json'], { env });
    expect(sent.code).toBe(0);
    const publicKey = JSON.parse(sent.stdout).recipients[0].provision_public_key as string;
    const first = await runCli(['keystore', 'revoke', 'bo@example.org'], { env });
    expect(first.code).toBe(0);

    const again = await runCli(['keystore', 'revoke', 'bo@example.org'], { env });
    const againJson = await runCli(['keystore', 'revoke', 'bo@example.org', '--json'], { env });

    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(
      new RegExp(
        `^bo@example\\.org: provision ${publicKey} was already revoked at \\d{4}-\\d{2}-\\d{2}T\\S+Z, and the keystore has no entry to remove; the next send creates a new link\\.\\n$`,
      ),
    );
    expect(againJson.code).toBe(0);
    expect(JSON.parse(againJson.stdout)).toEqual({
      email: 'bo@example.org',
      revoked: publicKey,
      already_revoked: true,
      removed_from_keystore: null,
    });
  });

  it('revoke explains an unknown email', async () => {
    const result = await runCli(['keystore', 'revoke', 'nobody@example.org'], { env });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the keystore ${env.PROVISIONS_KEYSTORE} has no entry and no revocation for nobody@example.org; check the address with "provisions keystore list"\n`,
    );
    expect(result.stdout).toBe('');
  });

  it.each([
    [['keystore', 'list']],
    [['keystore', 'export', '--stdout']],
    [['keystore', 'revoke', 'a@example.com']],
  ])('%j rejects a missing keystore', async (args) => {
    const missing = join(workDir, 'typo.json');

    const result = await runCli(args, { env: { ...env, PROVISIONS_KEYSTORE: missing } });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: keystore ${missing} not found; check the path (only send creates a keystore)\n`,
    );
    expect(result.stdout).toBe('');
    await expect(stat(`${missing}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports a missing keystore before asking for its passphrase', async () => {
    const missing = join(workDir, 'typo.json');
    const { PROVISIONS_KEYSTORE_PASSPHRASE: _unset, ...withoutPassphrase } = env;

    const result = await runCli(['keystore', 'list'], {
      env: { ...withoutPassphrase, PROVISIONS_KEYSTORE: missing },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: keystore ${missing} not found; check the path (only send creates a keystore)\n`,
    );
  });

  it('says the passphrase is wrong without touching the file', async () => {
    const before = await readFile(env.PROVISIONS_KEYSTORE as string, 'utf8');

    const result = await runCli(['keystore', 'list'], {
      env: { ...env, PROVISIONS_KEYSTORE_PASSPHRASE: 'not the passphrase' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the passphrase is wrong');
    expect(result.stderr).not.toContain('not the passphrase');
    expect(await readFile(env.PROVISIONS_KEYSTORE as string, 'utf8')).toBe(before);
  });
});
