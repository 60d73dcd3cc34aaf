import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

const execFileAsync = promisify(execFile);

describe('installed libraries in Node.js', () => {
  it('seal, provision and keystore round trip', async () => {
    const project = inject('libraryProject');
    const script = join(project, 'round-trip.mjs');
    await copyFile(new URL('../fixtures/round-trip.mjs', import.meta.url), script);

    const { stdout } = await execFileAsync(process.execPath, [script], { cwd: project });
    const result = JSON.parse(stdout);

    expect(result.email).toBe('grace@example.org');
    expect(result.link).toMatch(/^https:\/\/app\.example\.com\/join#provision:[A-Za-z0-9_-]{44}$/);
    expect(result.sealedLength).toBe(32 + 48);
    expect(result.openedMatches).toBe(true);
    expect(result.keystorePublicKey).toBe(result.provisionPublicKey);
  });
});
