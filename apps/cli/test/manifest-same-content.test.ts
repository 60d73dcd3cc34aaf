import { access, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { normalizeEmail } from '@provisions/api';
import { FileKeystore } from '@provisions/core/keystore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readKeystoreEncryption } from '../src/keystore-access.js';
import { readManifest } from '../src/manifest.js';
import { hashManifestInOrder } from '../src/manifest-hash.js';
import { manifestArgs, writeManifest } from './support/manifest-file.js';
import { boxOptions, runCli, sendArgsWithoutServer, TEST_KDF_COST } from './support/run-cli.js';
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

/** Writes a JSON manifest `name` in the work directory and returns its path. */
async function writeJsonManifest(
  name: string,
  recipients: { email: string; boxes: { title: string; messages: string[] }[] }[],
): Promise<string> {
  const path = join(workDir, name);
  await writeFile(path, JSON.stringify({ recipients }));
  return path;
}

/** Two recipients with two boxes each, the first box with two messages. */
function twoRecipients(prefix: string): {
  email: string;
  boxes: { title: string; messages: string[] }[];
}[] {
  return [0, 1].map((index) => ({
    email: `${prefix}${index}@example.com`,
    boxes: [
      { title: 'Contract', messages: ['first', 'second'] },
      { title: 'Payslip', messages: ['hi'] },
    ],
  }));
}

describe('send --manifest of reordered content', () => {
  it('rejects reordered recipients', async () => {
    const keystore = join(workDir, 'order-keystore.json');
    const recipients = twoRecipients('order');
    const manifest = await writeJsonManifest('order.json', recipients);
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const reordered = await writeJsonManifest('order-reversed.json', [...recipients].reverse());

    const again = await runCli(manifestArgs(reordered, keystore), { env });

    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `provisions: manifest ${reordered}: a run of the same content was started on `,
    );
    expect(again.stderr).toContain(`with journal ${manifest}.journal: to finish that run`);
    expect(await exists(`${reordered}.journal`)).toBe(false);
  });

  it("rejects a recipient's reordered boxes", async () => {
    const keystore = join(workDir, 'box-order-keystore.json');
    const recipients = twoRecipients('boxorder');
    const manifest = await writeJsonManifest('box-order.json', recipients);
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const swapped = recipients.map((recipient, index) =>
      index === 1 ? { ...recipient, boxes: [...recipient.boxes].reverse() } : recipient,
    );
    const reordered = await writeJsonManifest('box-order-swapped.json', swapped);

    const again = await runCli(manifestArgs(reordered, keystore), { env });

    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a run of the same content was started on ');
    expect(await exists(`${reordered}.journal`)).toBe(false);
  });

  it('sends reordered messages as new content', async () => {
    const keystore = join(workDir, 'message-order-keystore.json');
    const recipients = twoRecipients('messageorder');
    const manifest = await writeJsonManifest('message-order.json', recipients);
    const first = await runCli(manifestArgs(manifest, keystore), { env });
    expect(first.code).toBe(0);
    const swapped = recipients.map((recipient) => ({
      ...recipient,
      boxes: [
        { title: 'Contract', messages: ['second', 'first'] },
        { title: 'Payslip', messages: ['hi'] },
      ],
    }));
    const changed = await writeJsonManifest('message-order-swapped.json', swapped);

    const again = await runCli(manifestArgs(changed, keystore), { env });

    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^boxes created: 4 \(4 by this run\)$/m);
  });

  it('rejects a copy recorded by an older version', async () => {
    const keystorePath = join(workDir, 'older-keystore.json');
    const manifest = await writeJsonManifest('older.json', twoRecipients('older'));
    const parsed = await readManifest(manifest);
    const oldStyleHash = hashManifestInOrder(
      parsed.recipients.map((recipient) => ({
        email: normalizeEmail(recipient.email),
        boxes: recipient.boxes,
      })),
    );
    const keystore = await FileKeystore.open(keystorePath, {
      passphrase: env.PROVISIONS_KEYSTORE_PASSPHRASE as string,
      organizationId: server.organizationId,
      serverUrl: server.url,
      encryption: readKeystoreEncryption({ PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST }),
    });
    const olderJournal = join(workDir, 'older-original.json.journal');
    try {
      await keystore.recordManifestRun({ manifestSha256: oldStyleHash, journal: olderJournal });
    } finally {
      await keystore.close();
    }

    const again = await runCli(manifestArgs(manifest, keystorePath), { env });

    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`with journal ${olderJournal}: to finish that run`);
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
