import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeManifest } from './support/manifest-file.js';
import { runCli, sendArgsWithoutServer } from './support/run-cli.js';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-locks-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Writes a lock file at `path` owned by this test process, which is alive, so the CLI takes it
 * for the lock of another running command.
 */
async function holdLock(path: string): Promise<void> {
  const owner = { pid: process.pid, hostname: hostname(), created_at: new Date().toISOString() };
  await writeFile(path, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
}

/** Runs `send --manifest MANIFEST --keystore KEYSTORE` against a server where nothing listens. */
function sendManifest(manifest: string, keystore: string) {
  return runCli(sendArgsWithoutServer(keystore, '--manifest', manifest), {
    env: { PROVISIONS_CLIENT_SECRET: 'secret', PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase' },
  });
}

describe('a lock held by another command', () => {
  it('exits 1 for a journal in use', async () => {
    const manifest = await writeManifest(workDir, 'journal-lock', 2);
    const journal = `${manifest}.journal`;
    await holdLock(`${journal}.lock`);

    const result = await sendManifest(manifest, join(workDir, 'journal-lock.json'));

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: journal ${journal} is in use by process ${process.pid} on ${hostname()} (lock file ${journal}.lock): wait for it to finish, or delete the lock file if no such process runs\n`,
    );
    await expect(stat(journal)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 1 for a keystore in use', async () => {
    const manifest = await writeManifest(workDir, 'keystore-lock', 2);
    const keystore = join(workDir, 'keystore-lock.json');
    await holdLock(`${keystore}.lock`);

    const result = await sendManifest(manifest, keystore);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: keystore ${keystore} is in use by process ${process.pid} on ${hostname()} (lock file ${keystore}.lock): wait for it to finish, or delete the lock file if no such process runs\n`,
    );
    await expect(stat(`${manifest}.journal`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('a lock file that names no process', () => {
  it('says when the lock counts as abandoned', async () => {
    const manifest = await writeManifest(workDir, 'empty-lock', 2);
    const journal = `${manifest}.journal`;
    // A command killed between creating the lock file and writing its owner leaves it empty.
    await writeFile(`${journal}.lock`, '', { mode: 0o600 });

    const result = await sendManifest(manifest, join(workDir, 'empty-lock.json'));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^provisions: journal ${escapeRegExp(journal)} is locked, but its lock file ${escapeRegExp(journal)}\\.lock names no process, as when a command is killed while it takes the lock: run the command again in (10|9|8) s, when the lock counts as abandoned, or delete the lock file now if no other command is running\\n$`,
      ),
    );
    await expect(stat(journal)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
