import { access, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeManifest } from './support/manifest-file.js';
import { boxOptions, runCli, sendArgsWithoutServer } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-same-content-'));
  env = serverEnv(server, 'same content passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

function manifestArgs(manifest: string, keystore: string, ...options: string[]): string[] {
  return ['send', '--manifest', manifest, '--keystore', keystore, ...options];
}

/** Returns the box ids of each recipient of a `--json` summary, in manifest order. */
function boxIds(stdout: string): string[][] {
  const document = JSON.parse(stdout) as { recipients: { boxes: { id: string }[] }[] };
  return document.recipients.map((recipient) => recipient.boxes.map((box) => box.id));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** An RFC 3339 time as `Date.prototype.toISOString` writes it. */
const ISO_TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';

describe('send --manifest of content run before', () => {
  it('rejects a copy under another name', async () => {
    const keystore = join(workDir, 'copy-keystore.json');
    const manifest = await writeManifest(workDir, 'people', 2);
    const journal = `${manifest}.journal`;
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const copy = join(workDir, 'people (1).csv');
    await copyFile(manifest, copy);

    const again = await runCli(manifestArgs(copy, keystore), { env });

    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(
      new RegExp(
        `^provisions: manifest ${escapeRegExp(copy)}: a run of the same content was started on ${ISO_TIME} for this organization with journal ${escapeRegExp(journal)}: to finish that run, run this command with --journal ${escapeRegExp(journal)}, or add --send-again to send the same boxes to every recipient once more\n$`,
      ),
    );
    expect(await exists(`${copy}.journal`)).toBe(false);

    const resumed = await runCli(manifestArgs(copy, keystore, '--journal', journal), { env });

    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/^boxes created: 2 \(0 by this run\)$/m);
  });

  it('sends the content again with --send-again', async () => {
    const keystore = join(workDir, 'again-keystore.json');
    const manifest = await writeManifest(workDir, 'again', 2);
    const first = await runCli(manifestArgs(manifest, keystore, '--json'), { env });
    expect(first.code).toBe(0);
    const copy = join(workDir, 'again copy.csv');
    await copyFile(manifest, copy);

    const again = await runCli(manifestArgs(copy, keystore, '--send-again', '--json'), { env });

    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^boxes created: 2 \(2 by this run\)$/m);
    const firstIds = boxIds(first.stdout).flat();
    const againIds = boxIds(again.stdout).flat();
    expect(againIds).toHaveLength(2);
    expect(againIds.filter((id) => firstIds.includes(id))).toEqual([]);

    // The keystore records both runs now, and resuming a journal is not affected by them.
    const resumed = await runCli(manifestArgs(copy, keystore), { env });

    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/^boxes created: 2 \(0 by this run\)$/m);
  });

  it('names a journal that lost the run', async () => {
    const keystore = join(workDir, 'moved-keystore.json');
    const manifest = await writeManifest(workDir, 'moved', 1);
    const journal = `${manifest}.journal`;
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    await rm(journal);

    const again = await runCli(manifestArgs(manifest, keystore), { env });

    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      new RegExp(
        `^provisions: manifest ${escapeRegExp(manifest)}: a run of the same content was started on ${ISO_TIME} for this organization with journal ${escapeRegExp(journal)}, which no longer records it: restore that journal to finish the run, or add --send-again to send the same boxes to every recipient once more\n$`,
      ),
    );
    expect(await exists(journal)).toBe(false);
  });

  it('sends other content to the same people', async () => {
    const keystore = join(workDir, 'other-keystore.json');
    const manifest = await writeManifest(workDir, 'other', 2);
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    // The same recipients, with a box of another title.
    const changed = join(workDir, 'other-changed.csv');
    const rows = ['other0@example.com,Reminder,hi', 'other1@example.com,Reminder,hi'];
    await writeFile(changed, `email,title,message\n${rows.join('\n')}\n`);

    const again = await runCli(manifestArgs(changed, keystore), { env });

    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^boxes created: 2 \(2 by this run\)$/m);
  });
});

describe('send --send-again', () => {
  it('works only with --manifest', async () => {
    const result = await runCli(
      sendArgsWithoutServer('k.json', ...boxOptions('a@example.com', 'T', 'm'), '--send-again'),
      { env: { PROVISIONS_CLIENT_SECRET: 'secret' } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: --send-again works only with --manifest\n');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
