import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CliResult, runCli, runCliWithStdout } from './support/run-cli.js';

interface DemoSummary {
  server: string;
  organization_id: string;
  recipients: {
    email: string;
    delivery: 'identity' | 'provision';
    link: string | null;
    link_reused: boolean | null;
    boxes: { id: string; title: string }[];
  }[];
  redeemed: {
    email: string;
    via: string;
    boxes: {
      id: string;
      title: string;
      messages: { id: string; text: string; sender: { type: string; id: string } }[];
    }[];
  }[];
}

let directory: string;
let dataDir: string;
let firstRun: CliResult;
let secondRun: CliResult;
let first: DemoSummary;
let second: DemoSummary;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-demo-'));
  dataDir = join(directory, 'demo-data');

  firstRun = await runCli(['demo', '--data-dir', dataDir, '--json']);
  secondRun = await runCli(['demo', '--data-dir', dataDir, '--json']);
  first = JSON.parse(firstRun.stdout);
  second = JSON.parse(secondRun.stdout);
}, 120_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function shareOf(link: string | null): string | undefined {
  return link?.split('#provision:')[1];
}

describe('provisions demo', () => {
  it('succeeds twice with JSON summaries', () => {
    expect(firstRun.code).toBe(0);
    expect(firstRun.stderr).toBe('');
    expect(secondRun.code).toBe(0);
    expect(second.organization_id).toBe(first.organization_id);
    expect(first.server).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('auto-invites the account holder and links the others', () => {
    const deliveries = first.recipients.map((recipient) => [recipient.email, recipient.delivery]);

    expect(deliveries).toEqual([
      ['ada@example.com', 'identity'],
      ['grace@example.org', 'provision'],
      ['alan@example.net', 'provision'],
    ]);
    expect(first.recipients[0]?.link).toBeNull();
    expect(first.recipients[1]?.link_reused).toBe(false);
    expect(first.recipients[2]?.boxes).toHaveLength(2);
  });

  it('reuses each link on the second run', () => {
    for (const [index, recipient] of second.recipients.entries()) {
      const earlier = first.recipients[index];
      if (recipient.delivery === 'identity') {
        expect(recipient.link).toBeNull();
        continue;
      }
      expect(recipient.link_reused).toBe(true);
      // The second run listens on the first run's port unless another
      // process took it meanwhile; only then may the address part change.
      if (second.server === first.server) {
        expect(recipient.link).toBe(earlier?.link);
      }
      expect(shareOf(recipient.link)).toBe(shareOf(earlier?.link ?? null));
      expect(shareOf(recipient.link)).toMatch(/^[A-Za-z0-9_-]{44}$/);
    }
  });

  it('opens the boxes of both runs for every recipient', () => {
    for (const opened of second.redeemed) {
      const sentIds = [first, second].flatMap(
        (run) =>
          run.recipients
            .find((recipient) => recipient.email === opened.email)
            ?.boxes.map((box) => box.id) ?? [],
      );
      expect({ email: opened.email, ids: opened.boxes.map((box) => box.id) }).toEqual({
        email: opened.email,
        ids: sentIds,
      });
    }
    expect(second.redeemed.map((opened) => [opened.email, opened.via])).toEqual([
      ['grace@example.org', 'link'],
      ['alan@example.net', 'link'],
      ['ada@example.com', 'identity'],
    ]);
  });

  it('decrypts the messages of the example manifest', () => {
    const alan = second.redeemed.find((opened) => opened.email === 'alan@example.net');

    expect(alan?.boxes[0]?.title).toBe('Payslip, January');
    expect(alan?.boxes[0]?.messages.map((message) => message.text)).toEqual([
      'Net pay for January: 3,120.00 EUR.',
      'Paid on 28 January.',
    ]);
    expect(alan?.boxes[0]?.messages.map((message) => message.sender)).toEqual([
      { type: 'organization', id: second.organization_id },
      { type: 'organization', id: second.organization_id },
    ]);
    expect(alan?.boxes.map((box) => box.title)).toEqual([
      'Payslip, January',
      'Tax certificate',
      'Payslip, January',
      'Tax certificate',
    ]);
  });

  it('keeps its secrets in files with mode 0600', async () => {
    for (const file of [
      'organization.json',
      'keystore-passphrase',
      'keystore.json',
      'identities/ada@example.com.key',
      'sessions/ada@example.com.json',
      'sessions/grace@example.org.json',
    ]) {
      expect({ file, mode: (await stat(join(dataDir, file))).mode & 0o777 }).toEqual({
        file,
        mode: 0o600,
      });
    }
  });

  it('prints a short human summary that says a link was reused', async () => {
    const result = await runCli(['demo', '--data-dir', dataDir]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'ada@example.com: auto-invited with their identity key, no link needed',
    );
    expect(result.stdout).toMatch(
      /grace@example\.org: link reused\n\s+http:\/\/127\.0\.0\.1:\d+\/join#provision:/,
    );
    expect(result.stdout).toContain(
      'a real operator supplies their own in PROVISIONS_KEYSTORE_PASSPHRASE',
    );
    expect(result.stdout).toContain('(box ');
    expect(result.stdout).toContain(', new)');
    expect(result.stderr).toBe('');
  }, 60_000);

  it('reports a full stdout after running', async () => {
    const result = await runCliWithStdout(['demo', '--data-dir', dataDir], 'full');

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot write to standard output (ENOSPC): the boxes were sent and opened, but this was not printed; the demo's files are in ${dataDir}\n`,
    );
  }, 60_000);

  it('starts over with --fresh', async () => {
    const result = await runCli(['demo', '--data-dir', dataDir, '--fresh', '--json']);
    const summary = JSON.parse(result.stdout) as DemoSummary;

    expect(result.code).toBe(0);
    expect(summary.organization_id).not.toBe(first.organization_id);
    expect(summary.recipients[1]?.link_reused).toBe(false);
    expect(summary.redeemed[0]?.boxes).toHaveLength(1);
  }, 60_000);

  it('leaves a directory it did not make alone', async () => {
    const foreign = join(directory, 'notes');
    await mkdir(foreign);
    await writeFile(join(foreign, 'thesis.txt'), 'keep me');

    for (const extra of [[], ['--fresh']]) {
      const result = await runCli(['demo', '--data-dir', foreign, ...extra]);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/was not made by the demo/);
      expect(await readFile(join(foreign, 'thesis.txt'), 'utf8')).toBe('keep me');
    }
  }, 60_000);
});
