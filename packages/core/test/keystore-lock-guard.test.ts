import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { acquireLockFile } from '../src/keystore-lock.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, stat: vi.fn(actual.stat) };
});

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-lock-guard-'));
});

afterEach(async () => {
  vi.mocked(stat).mockRestore();
  await rm(directory, { recursive: true, force: true });
});

describe('acquireLockFile takeover guard', () => {
  it('keeps a guard recreated after its stat', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => {
      child.on('exit', () => resolve(child.pid as number));
    });
    const lockPath = join(directory, 'keystore.json.lock');
    const guardPath = `${lockPath}.takeover`;
    await writeFile(
      lockPath,
      JSON.stringify({ pid: deadPid, hostname: hostname(), created_at: 'abandoned' }),
    );
    await writeFile(guardPath, 'first holder');

    // Between this caller's failed open of the guard and its stat, the first holder removes
    // the guard and another caller creates its own.
    const actualStat = vi.mocked(stat).getMockImplementation() as typeof stat;
    vi.mocked(stat).mockImplementationOnce(async (target) => {
      await unlink(guardPath);
      const error = await actualStat(target).catch((cause: unknown) => cause);
      await writeFile(guardPath, 'second holder');
      throw error;
    });

    await expect(acquireLockFile(lockPath, 'test lock')).rejects.toMatchObject({
      code: 'ERR_LOCKED',
    });
    expect(await readFile(guardPath, 'utf8')).toBe('second holder');
  });
});
