import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { requestKind, startFaultProxy } from './support/fault-proxy.js';
import { runCli, sendArgs } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-partial-'));
  env = serverEnv(server, 'partial test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest with a failing recipient', () => {
  it('sends the others and exits with code 3', async () => {
    const other = await runCli(
      sendArgs(
        join(workDir, 'other-keystore.json'),
        'taken@example.com',
        'Earlier',
        'sent with another keystore',
      ),
      { env },
    );
    expect(other.code).toBe(0);
    const manifest = join(workDir, 'recipients.csv');
    await writeFile(
      manifest,
      'email,title,message\ntaken@example.com,Box,hello\nfree@example.com,Box,hello\n',
    );
    const args = ['send', '--keystore', join(workDir, 'keystore.json'), '--manifest', manifest];

    const result = await runCli([...args, '--json'], { env });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('recipients: 1 of 2 done, 1 failed');
    expect(result.stderr).toMatch(
      /failed: taken@example\.com: has an active provision \(public key [A-Za-z0-9_-]{43}\) whose key share is not in this keystore/,
    );
    expect(result.stderr).not.toContain('to retry the failed recipients');
    expect(result.stderr).toContain(
      `1 failed recipient needs the step that its failure line names, because running the same command again alone fails it again (journal ${manifest}.journal)`,
    );
    const output = JSON.parse(result.stdout) as {
      summary: { failed: number; failures: { email: string }[] };
      recipients: { email: string; status: string; link: string | null }[];
    };
    expect(output.summary.failures.map((failure) => failure.email)).toEqual(['taken@example.com']);
    expect(output.recipients.map((recipient) => recipient.status)).toEqual(['failed', 'done']);
    expect(output.recipients[0]?.link).toBeNull();
    expect(output.recipients[1]?.link).toMatch(/#provision:[A-Za-z0-9_-]{44}$/);

    const again = await runCli(args, { env });

    expect(again.code).toBe(3);
    expect(again.stderr).toContain('boxes created: 1 (0 by this run)');
  });
});

describe('send --manifest with two kinds of failure', () => {
  it('names the failures a re-run can fix', async () => {
    const other = await runCli(
      sendArgs(join(workDir, 'mixed-other.json'), 'held@example.com', 'Earlier', 'sent before'),
      { env },
    );
    expect(other.code).toBe(0);
    // The first recipient fails before it creates a box, so the only box creation, which the
    // proxy rejects once, is the second recipient's.
    let rejected = false;
    const proxy = await startFaultProxy(server.url, (method, path) => {
      if (!rejected && requestKind(method, path) === 'POST /organizations/{oid}/boxes') {
        rejected = true;
        return { status: 400, detail: 'injected rejection' };
      }
      return 'pass';
    });
    try {
      const manifest = join(workDir, 'mixed.csv');
      await writeFile(
        manifest,
        'email,title,message\nheld@example.com,Box,hello\nretry@example.com,Box,hello\n',
      );
      const args = ['send', '--keystore', join(workDir, 'mixed.json'), '--manifest', manifest];
      const proxied = { ...env, PROVISIONS_SERVER: proxy.url };

      const result = await runCli([...args, '--concurrency', '1'], { env: proxied });

      expect(result.code).toBe(3);
      expect(result.stderr).toContain('recipients: 0 of 2 done, 2 failed');
      expect(result.stderr).toContain('failed: retry@example.com: the server rejected POST ');
      expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
        `run the same command again to retry 1 of the failed recipients; the other 1 needs the step that its failure line names, because a re-run alone fails it again (journal ${manifest}.journal)`,
      );

      const again = await runCli(args, { env: proxied });

      expect(again.code).toBe(3);
      expect(again.stderr).toContain('recipients: 1 of 2 done, 1 failed');
    } finally {
      await proxy.close();
    }
  });
});

describe('send --manifest after the manifest changed', () => {
  it('warns against moving the journal away', async () => {
    const manifest = join(workDir, 'changed.csv');
    const journal = `${manifest}.journal`;
    const lines = ['email,title,message', 'one@example.com,Box,hello', 'two@example.com,Box,hello'];
    await writeFile(manifest, `${lines.join('\n')}\n`);
    const args = ['send', '--keystore', join(workDir, 'changed.json'), '--manifest', manifest];
    const first = await runCli(args, { env });
    await writeFile(manifest, `${[...lines, 'three@example.com,Box,hello'].join('\n')}\n`);

    const changed = await runCli(args, { env });

    expect(first.code).toBe(0);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain(
      `provisions: the manifest changed since journal ${journal} was started: restore it to finish that run, or put only the new or corrected lines in a new manifest and send that one`,
    );
    expect(changed.stderr).toContain(
      `Do not move ${journal} away to send this manifest again: without the journal, the 2 recipients this run has sent boxes to would get them a second time.`,
    );
    expect(changed.stderr.split('\n')).toHaveLength(2);
  });
});
