import { readdir, readlink, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTBOX_FILE_NAME } from '../src/index.js';
import { useTestServer } from './support/test-server.js';

/**
 * The outbox file stays open for the server's life, so a sign-in email needs no new file
 * descriptor, and a file deleted or moved away by hand is created again.
 */

const fixture = useTestServer();

/** Counts this process's file descriptors open on `path`, from Linux's `/proc/self/fd`. */
async function countDescriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', entry)).catch(() => '');
    if (target === path) {
      count += 1;
    }
  }
  return count;
}

describe('outbox', () => {
  it.skipIf(process.platform !== 'linux')('keeps one descriptor open', async () => {
    const path = join(fixture.server.dataDir, OUTBOX_FILE_NAME);
    for (let sent = 0; sent < 3; sent += 1) {
      await fixture.server.requestCode(fixture.server.newEmail());
    }

    expect(await countDescriptorsOn(path)).toBe(1);
  });

  it('writes a new file after the file was deleted', async () => {
    await fixture.server.requestCode(fixture.server.newEmail());
    await rm(join(fixture.server.dataDir, OUTBOX_FILE_NAME));
    const email = fixture.server.newEmail();

    await fixture.server.requestCode(email);

    expect((await fixture.server.outbox()).map((line) => line.to)).toEqual([email]);
    expect((await stat(join(fixture.server.dataDir, OUTBOX_FILE_NAME))).mode & 0o777).toBe(0o600);
  });
});
