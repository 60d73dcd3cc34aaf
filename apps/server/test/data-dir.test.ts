import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDataDir } from '../src/data-dir.js';
import { createOrganization, startServer } from '../src/index.js';
import { newTestDatabaseUrl } from './support/test-database.js';

/**
 * A data directory that does not exist yet is created, with its parents, on both
 * backends: on PostgreSQL the outbox and the cursor key still live there.
 */

let root: string;
let databaseUrl: string | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'provisions-data-dir-'));
  databaseUrl = await newTestDatabaseUrl();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('data directory', () => {
  it('startServer creates it with mode 0700', async () => {
    const dataDir = join(root, 'missing', 'data');
    const server = await startServer({ dataDir, databaseUrl });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, 'cursor.key'))).isFile()).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('createOrganization creates it with mode 0700', async () => {
    const dataDir = join(root, 'missing', 'data');
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });

    expect(credentials.name).toBe('Acme');
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it("keeps an existing directory's mode", async () => {
    const dataDir = join(root, 'existing');
    await mkdir(dataDir);
    await chmod(dataDir, 0o750);

    await createDataDir(dataDir);

    expect((await stat(dataDir)).mode & 0o777).toBe(0o750);
  });

  it('creates one path from concurrent calls', async () => {
    const dataDir = join(root, 'a', 'b', 'c');

    await Promise.all(Array.from({ length: 5 }, () => createDataDir(dataDir)));

    expect((await stat(dataDir)).isDirectory()).toBe(true);
    expect((await stat(join(root, 'a'))).mode & 0o777).toBe(0o700);
  });
});
