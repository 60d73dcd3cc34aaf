import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installedBin } from './install.js';

const execFileAsync = promisify(execFile);

/** Starts the installed server on a free port and resolves with its URL once it listens. */
async function startInstalledServer(
  serverBin: string,
  dataDir: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [serverBin, 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );

  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`provisions-server exited with code ${code}`)));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
  });

  return { child, url };
}

describe('installed command line', () => {
  let workDir: string;
  let server: { child: ChildProcess; url: string } | undefined;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-'));
  });

  afterAll(async () => {
    if (server !== undefined && server.child.exitCode === null) {
      const exited = new Promise((resolve) => server?.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
    await rm(workDir, { recursive: true, force: true });
  });

  it('provisions is linked by installing the CLI alone', async () => {
    const project = inject('cliProject');

    const { stdout } = await execFileAsync(join(project, 'node_modules', '.bin', 'provisions'), [
      '--help',
    ]);

    expect(stdout).toContain('Usage: provisions');
    expect(stdout).toContain('send');
    expect(stdout).toContain('redeem');
    expect(stdout).toContain('demo');
  });

  it('send and redeem against the installed server', async () => {
    const project = inject('cliProject');
    const provisions = join(project, 'node_modules', '.bin', 'provisions');
    const serverBin = await installedBin(project, '@provisions/server', 'provisions-server');
    const dataDir = join(workDir, 'server');

    server = await startInstalledServer(serverBin, dataDir);
    const created = await execFileAsync(process.execPath, [
      serverBin,
      'create-organization',
      '--data-dir',
      dataDir,
      '--name',
      'Packaging test',
    ]);
    const organization = JSON.parse(created.stdout) as { id: string; client_secret: string };

    const sent = await execFileAsync(
      provisions,
      [
        'send',
        '--server',
        server.url,
        '--org-id',
        organization.id,
        '--keystore',
        join(workDir, 'keystore.json'),
        '--to',
        'grace@example.org',
        '--title',
        'Signed contract',
        '--message',
        'Your contract is signed.',
        '--json',
      ],
      {
        env: {
          ...process.env,
          PROVISIONS_CLIENT_SECRET: organization.client_secret,
          PROVISIONS_KEYSTORE_PASSPHRASE: 'correct horse battery staple',
          PROVISIONS_KEYSTORE_KDF_COST: '14',
        },
      },
    );
    const summary = JSON.parse(sent.stdout) as {
      recipients: { email: string; delivery: string; link: string }[];
    };
    expect(summary.recipients).toHaveLength(1);
    const link = summary.recipients[0]?.link ?? '';
    expect(link).toMatch(/\/join#provision:[A-Za-z0-9_-]{44}$/);

    const redeemed = await execFileAsync(provisions, [
      'redeem',
      link,
      '--email',
      'grace@example.org',
      '--server',
      server.url,
      '--outbox',
      join(dataDir, 'outbox.jsonl'),
      '--json',
    ]);
    const opened = JSON.parse(redeemed.stdout) as {
      boxes: { title: string; messages: { text: string; sender: { type: string } }[] }[];
    };

    expect(opened.boxes).toEqual([
      expect.objectContaining({
        title: 'Signed contract',
        messages: [
          expect.objectContaining({
            text: 'Your contract is signed.',
            sender: expect.objectContaining({ type: 'organization' }),
          }),
        ],
      }),
    ]);
  });
});
