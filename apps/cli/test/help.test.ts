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

  it('documents how redeem marks member messages', async () => {
    const result = await runCli(['redeem', '--help']);
    const text = result.stdout.replace(/\s+/g, ' ');

    expect(result.code).toBe(0);
    expect(text).toContain('"From a member of this box, not from the sender:"');
    expect(text).toContain('member-message-NNN.txt');
  });

  it.each(['list', 'export'])('documents the keystore defaults of %s', async (command) => {
    const result = await runCli(['keystore', command, '--help']);
    // Commander wraps the option descriptions at 80 columns.
    const text = result.stdout.replace(/\s+/g, ' ');

    expect(result.code).toBe(0);
    expect(text).toContain('--server <url> API server URL (default: from the keystore)');
    expect(text).toContain(
      '--org-id <id> organization id (the OAuth client id) (default: from the keystore)',
    );
    expect(text).toContain('The keystore file records its server and organization');
  });

  it('keeps --server and --org-id required for keystore revoke', async () => {
    const result = await runCli(['keystore', 'revoke', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--server <url>');
    expect(result.stdout.replace(/\s+/g, ' ')).not.toContain('default: from the keystore');
  });

  it('exits 2 for an unknown option', async () => {
    const result = await runCli(['send', '--client-secret', 'x']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("provisions: unknown option '--client-secret'\n");
    expect(result.stdout).toBe('');
  });

  it('prints usage errors on one line like other errors', async () => {
    const misspelled = await runCli(['send', '--jsn']);
    const missing = await runCli(['redeem']);
    const unknown = await runCli(['sned']);

    expect(misspelled.code).toBe(2);
    expect(misspelled.stderr).toBe("provisions: unknown option '--jsn' (Did you mean --json?)\n");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("provisions: missing required argument 'link'\n");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("provisions: unknown command 'sned' (Did you mean send?)\n");
  });

  it('exits 2 without a command', async () => {
    const result = await runCli([]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: provisions');
  });
});
