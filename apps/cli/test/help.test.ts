import { describe, expect, it } from 'vitest';

import { runCli } from './support/run-cli.js';

describe('provisions --help', () => {
  it('lists the commands and exits 0', async () => {
    const result = await runCli(['--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: provisions');
    for (const command of ['send', 'redeem', 'demo']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command} `, 'm'));
    }
  });

  it('documents the send environment and has no secret flags', async () => {
    const result = await runCli(['send', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PROVISIONS_CLIENT_SECRET');
    expect(result.stdout).toContain('PROVISIONS_KEYSTORE_PASSPHRASE');
    expect(result.stdout).toContain('PROVISIONS_KEYSTORE_KDF_COST');
    expect(result.stdout).toContain('--manifest <file>');
    expect(result.stdout).not.toMatch(/--client-secret|--passphrase/);
  });

  it('exits 2 for an unknown option', async () => {
    const result = await runCli(['send', '--client-secret', 'x']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--client-secret'");
    expect(result.stdout).toBe('');
  });

  it('exits 2 without a command', async () => {
    const result = await runCli([]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: provisions');
  });
});
