import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { redeemInvitation } from '@provisions/core';
import { DATABASE_FILE_NAME } from '@provisions/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signInFromOutbox } from './support/sign-in.js';
import { countLines, killAfterLines, spawnCli } from './support/spawn-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENTS = 60;

/** Journal line counts at which successive runs are killed; each run resumes the one before. */
const KILL_AFTER_LINES = [2, 25, 90, 170, 250, 330, 410];

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

function expectedBoxes(index: number): { title: string; messages: string[] }[] {
  const boxes = [{ title: 'Welcome', messages: [`Hello ${index}`, `Badge ${index}`] }];
  if (index % 3 === 0) {
    boxes.push({ title: 'Contract, signed', messages: [`Contract "${index}"`] });
  }
  return boxes;
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

beforeAll(async () => {
  // Each recipient signs in once to redeem the link: two sign-in requests each.
  server = await startTestServer({ signInRequestsPerMinute: 4 * RECIPIENTS });
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-resume-'));
  env = serverEnv(server, 'resume test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest killed and resumed', () => {
  it('finishes without a second box, provision or message', async () => {
    const manifest = join(workDir, 'recipients.csv');
    const journal = `${manifest}.journal`;
    const keystore = join(workDir, 'keystore.json');
    const linksOut = join(workDir, 'links.csv');
    const lines = ['email,title,message'];
    for (let index = 0; index < RECIPIENTS; index += 1) {
      for (const box of expectedBoxes(index)) {
        for (const message of box.messages) {
          lines.push(`person${index}@example.com,${csvField(box.title)},${csvField(message)}`);
        }
      }
    }
    await writeFile(manifest, `${lines.join('\n')}\n`);
    const args = [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      keystore,
      '--print-links',
      '--concurrency',
      '6',
    ];

    const printedLinks = new Map<string, Set<string>>();
    const collectLinks = (stdout: string): void => {
      for (const line of stdout.split('\n').slice(1)) {
        const [email, link] = line.split(',');
        if (email !== undefined && link !== undefined && link !== '') {
          const links = printedLinks.get(email) ?? new Set();
          links.add(link);
          printedLinks.set(email, links);
        }
      }
    };

    let kills = 0;
    for (const threshold of KILL_AFTER_LINES) {
      const cli = spawnCli(args, env);
      const killed = await killAfterLines(cli, journal, threshold);
      collectLinks(cli.stdout());
      if (!killed) {
        break;
      }
      kills += 1;
    }
    expect(kills).toBeGreaterThanOrEqual(4);

    const final = spawnCli([...args, '--links-out', linksOut], env);
    const exitCode = await final.exited;
    collectLinks(final.stdout());

    expect(final.stderr()).not.toContain('#provision:');
    expect(exitCode).toBe(0);
    expect(final.stderr()).toContain(`recipients: ${RECIPIENTS} of ${RECIPIENTS} done, 0 failed`);
    expect(await countLines(journal)).toBeGreaterThan(KILL_AFTER_LINES[3] as number);

    const linksText = await readFile(linksOut, 'utf8');
    expect((await stat(linksOut)).mode & 0o777).toBe(0o600);
    const finalLinks = new Map(
      linksText
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',') as [string, string]),
    );
    expect(finalLinks.size).toBe(RECIPIENTS);

    // Every link any run printed is the recipient's one link.
    for (const [email, links] of printedLinks) {
      expect([...links]).toEqual([finalLinks.get(email)]);
    }

    const database = new Database(join(server.dataDir, DATABASE_FILE_NAME), { readonly: true });
    try {
      const provisions = database
        .prepare('SELECT email, count(*) AS count FROM provisions GROUP BY email')
        .all() as { email: string; count: number }[];
      expect(provisions).toHaveLength(RECIPIENTS);
      expect(provisions.filter((row) => row.count !== 1)).toEqual([]);

      const boxes = database
        .prepare(
          `SELECT p.email AS email, b.title AS title, count(DISTINCT b.id) AS count
           FROM boxes b
           JOIN crypto_actions c ON c.box_id = b.id
           JOIN provisions p ON p.public_key = c.provision_public_key
           GROUP BY p.email, b.title`,
        )
        .all() as { email: string; title: string; count: number }[];
      const expectedBoxCount = Array.from({ length: RECIPIENTS }, (_, index) =>
        expectedBoxes(index),
      ).flat().length;
      expect(boxes).toHaveLength(expectedBoxCount);
      expect(boxes.filter((row) => row.count !== 1)).toEqual([]);
      const allBoxes = database.prepare('SELECT count(*) AS count FROM boxes').get() as {
        count: number;
      };
      expect(allBoxes.count).toBe(expectedBoxCount);
    } finally {
      database.close();
    }

    // Every final link redeems and shows each message exactly once.
    for (let index = 0; index < RECIPIENTS; index += 1) {
      const email = `person${index}@example.com`;
      const link = finalLinks.get(email) as string;
      const client = await signInFromOutbox(server.url, server.outboxPath, email);

      const redeemed = await redeemInvitation({ client, link });

      const opened = redeemed.boxes
        .map((box) => ({ title: box.title, messages: box.messages.map((item) => item.text) }))
        .sort((left, right) => left.title.localeCompare(right.title));
      const expected = expectedBoxes(index).sort((left, right) =>
        left.title.localeCompare(right.title),
      );
      expect(opened).toEqual(expected);
    }
  });
});
