import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, sendArgs } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let keystore: string;
/** The environment of `send`, with the keystore in PROVISIONS_KEYSTORE. */
let env: Record<string, string>;
/** The same environment without a keystore. */
let withoutKeystore: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-revoke-'));
  keystore = join(workDir, 'keystore.json');
  withoutKeystore = serverEnv(server, 'revoke keystore passphrase');
  env = { ...withoutKeystore, PROVISIONS_KEYSTORE: keystore };
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Sends one box to `email` and returns the public key of their provision. */
async function sendTo(email: string): Promise<string> {
  const sent = await runCli([...sendArgs(keystore, email, 'Box', 'hi'), '--json'], { env });
  expect(sent.code).toBe(0);
  return JSON.parse(sent.stdout).recipients[0].provision_public_key as string;
}

async function listedEmails(): Promise<string[]> {
  const listed = await runCli(['keystore', 'list', '--json'], { env });
  expect(listed.code).toBe(0);
  return (JSON.parse(listed.stdout).entries as { email: string }[]).map((entry) => entry.email);
}

/** Returns the `--json` document that `revoke` prints for a provision the server had. */
function revokedDocument(publicKey: string, removedFrom: string | null) {
  return { revoked: publicKey, already_revoked: false, removed_from_keystore: removedFrom };
}

describe('provisions revoke', () => {
  it('removes the keystore entry', async () => {
    const publicKey = await sendTo('joan@example.com');

    const revoked = await runCli(['revoke', publicKey, '--json'], { env });

    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual(revokedDocument(publicKey, 'joan@example.com'));
    expect(revoked.stderr).toBe('');
    expect(await listedEmails()).not.toContain('joan@example.com');
  });

  it('names the removed entry in its output', async () => {
    const publicKey = await sendTo('lin@example.com');

    const revoked = await runCli(['revoke', publicKey, '--keystore', keystore], {
      env: withoutKeystore,
    });

    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(
      `Provision ${publicKey} revoked: its link no longer works, and the next send to that address creates a new link.\nThe entry of lin@example.com was removed from the keystore ${keystore}.\n`,
    );
    expect(await listedEmails()).not.toContain('lin@example.com');
  });

  it('warns without a keystore, then removes the entry', async () => {
    const publicKey = await sendTo('kay@example.com');

    const revoked = await runCli(['revoke', publicKey, '--json'], { env: withoutKeystore });

    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual(revokedDocument(publicKey, null));
    expect(revoked.stderr).toBe(
      'provisions: no keystore given (--keystore or PROVISIONS_KEYSTORE), so a keystore that holds this provision still lists its link: remove the entry with "provisions keystore revoke EMAIL"\n',
    );
    expect(await listedEmails()).toContain('kay@example.com');

    // The server accepts a second revocation of the same provision.
    const again = await runCli(['revoke', publicKey, '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(revokedDocument(publicKey, 'kay@example.com'));
    expect(await listedEmails()).not.toContain('kay@example.com');
  });

  it('rejects a missing keystore before revoking', async () => {
    const publicKey = await sendTo('max@example.com');
    const missing = join(workDir, 'typo.json');

    const result = await runCli(['revoke', publicKey], {
      env: { ...env, PROVISIONS_KEYSTORE: missing },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: keystore ${missing} not found; give the keystore that send used, or leave --keystore and PROVISIONS_KEYSTORE unset to revoke on the server only\n`,
    );
    await expect(stat(`${missing}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    const resent = await runCli(
      [...sendArgs(keystore, 'max@example.com', 'Box', 'again'), '--json'],
      {
        env,
      },
    );
    expect(JSON.parse(resent.stdout).recipients[0].link_reused).toBe(true);
  });
});
