import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const sourceDirectory = join(packageDirectory, 'src');

describe('main entry point', () => {
  it('imports no node: module outside the keystore files', async () => {
    const files = (await readdir(sourceDirectory)).filter((file) => file.endsWith('.ts'));
    const browserFiles = files.filter((file) => !file.startsWith('keystore'));

    expect(browserFiles).toContain('index.ts');
    for (const file of browserFiles) {
      const source = await readFile(join(sourceDirectory, file), 'utf8');
      expect({ file, nodeImport: /from '(node:|fs|path|os|crypto)[/']/.test(source) }).toEqual({
        file,
        nodeImport: false,
      });
    }
  });

  it('exports only the main and keystore entry points', async () => {
    const manifest = JSON.parse(await readFile(join(packageDirectory, 'package.json'), 'utf8'));

    expect(Object.keys(manifest.exports)).toEqual(['.', './keystore', './package.json']);
    expect(manifest.exports['.'].default).toBe('./dist/index.js');
    expect(manifest.exports['./keystore'].default).toBe('./dist/keystore.js');
  });
});
