import { describe, expect, it } from 'vitest';

import readme from '../README.md?raw';
import * as publicApi from '../src/index.js';

const sources = import.meta.glob<string>('../src/*.ts', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** Returns the rows of the first Markdown table under the `## heading` section. */
function tableRows(heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start, `README section "${heading}"`).toBeGreaterThan(-1);
  const lines = (readme.slice(start + 1).split(/\n## /)[0] as string).split('\n');
  const tableStart = lines.findIndex((line) => line.startsWith('|'));
  const tableLength = lines.slice(tableStart).findIndex((line) => !line.startsWith('|'));
  const table = lines.slice(tableStart, tableLength < 0 ? undefined : tableStart + tableLength);
  return table.filter((line) => line.startsWith('| `'));
}

describe('public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(publicApi).sort()).toEqual(
      [
        'CRYPTO_ERROR_CODES',
        'CryptoError',
        'PASSPHRASE_ENVELOPE_OVERHEAD',
        'PUBLIC_KEY_LENGTH',
        'SCRYPT_DEFAULT_N',
        'SCRYPT_MAX_N',
        'SCRYPT_MIN_N',
        'SEAL_OVERHEAD',
        'SECRET_KEY_LENGTH',
        'SHARE_HASH_LENGTH',
        'SHARE_LENGTH',
        'base64UrlLength',
        'combineShares',
        'createProvision',
        'decodeBase64Url',
        'decryptWithPassphrase',
        'encodeBase64Url',
        'encryptWithPassphrase',
        'generateKeyPair',
        'getPublicKey',
        'getX25519Backend',
        'hashShare',
        'importKeyPair',
        'importPublicKey',
        'isCryptoError',
        'isLowOrderPublicKey',
        'open',
        'recoverSecretKey',
        'seal',
        'sealMany',
        'sealToMany',
        'setX25519Backend',
        'splitSecret',
      ].sort(),
    );
  });

  it('has the documented constant values', () => {
    expect(publicApi.PUBLIC_KEY_LENGTH).toBe(32);
    expect(publicApi.SECRET_KEY_LENGTH).toBe(32);
    expect(publicApi.SHARE_LENGTH).toBe(33);
    expect(publicApi.SHARE_HASH_LENGTH).toBe(64);
    expect(publicApi.SEAL_OVERHEAD).toBe(48);
    expect(publicApi.PASSPHRASE_ENVELOPE_OVERHEAD).toBe(65);
    expect(publicApi.SCRYPT_DEFAULT_N).toBe(2 ** 17);
    expect(publicApi.SCRYPT_MIN_N).toBe(2 ** 14);
    expect(publicApi.SCRYPT_MAX_N).toBe(2 ** 20);
  });

  it('documents every function in the README API table', () => {
    const documented = tableRows('API').map((row) => /^\| `(\w+)/.exec(row)?.[1]);
    const functions = Object.entries(publicApi)
      .filter(([name, value]) => typeof value === 'function' && name !== 'CryptoError')
      .map(([name]) => name);

    expect(documented.sort()).toEqual(functions.sort());
  });

  it('documents every error code in the README', () => {
    const documented = tableRows('Errors').map((row) => /^\| `(ERR_\w+)`/.exec(row)?.[1]);

    expect(documented.sort()).toEqual([...publicApi.CRYPTO_ERROR_CODES].sort());
  });
});

describe('sources', () => {
  it('import no Node.js built-in module', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(5);

    for (const [path, text] of Object.entries(sources)) {
      expect(text, path).not.toMatch(/from\s+['"]node:|import\(\s*['"]node:|require\(/);
    }
  });
});
