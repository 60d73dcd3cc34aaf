import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SCRYPT_MIN_N } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileKeystore } from '../src/keystore.js';

const KILLS = 8;
const passphrase = 'crash test passphrase';
const organizationId = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const serverUrl = 'http://127.0.0.1:8080';
const keystoreModule = fileURLToPath(new URL('../dist/keystore.js', import.meta.url));

// The writer puts entries from 16 concurrent tasks and prints "email share"
// once each put resolved, as a sender prints a link only after that.
const WRITER = `
import { randomBytes } from 'node:crypto';
import { FileKeystore } from ${JSON.stringify(keystoreModule)};
const [path, prefix] = process.argv.slice(2);
const keystore = await FileKeystore.open(path, {
  passphrase: ${JSON.stringify(passphrase)},
  organizationId: ${JSON.stringify(organizationId)},
  serverUrl: ${JSON.stringify(serverUrl)},
  encryption: { scryptN: ${SCRYPT_MIN_N} },
});
let counter = 0;
const task = async () => {
  for (;;) {
    const email = prefix + '-' + counter++ + '@example.com';
    const entry = {
      public_key: randomBytes(32).toString('base64url'),
      user_key_share: randomBytes(33).toString('base64url'),
      created_at: new Date().toISOString(),
    };
    await keystore.put(email, entry);
    process.stdout.write(email + ' ' + entry.user_key_share + '\\n');
  }
};
await Promise.all(Array.from({ length: 16 }, task));
`;

let directory: string;
let writerPath: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-keystore-crash-'));
  writerPath = join(directory, 'writer.mjs');
  await writeFile(writerPath, WRITER);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs the writer until it printed `lines` lines, kills it with SIGKILL, and returns its output. */
async function writeUntilKilled(path: string, prefix: string, lines: number): Promise<string> {
  const child = spawn(process.execPath, [writerPath, path, prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });

  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.split('\n').length > lines) {
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}: ${errors}`)),
    );
  });
  return output;
}

describe('FileKeystore killed while writing', () => {
  // Eight child processes each derive a scrypt key, so this takes long on a busy machine.
  it('keeps every entry whose put resolved', { timeout: 180_000 }, async () => {
    const path = join(directory, 'keystore.json');
    const printed = new Map<string, string>();

    for (let run = 0; run < KILLS; run += 1) {
      const output = await writeUntilKilled(path, `run${run}`, 40 + run * 37);
      for (const line of output.split('\n')) {
        const [email, share] = line.split(' ');
        if (email !== undefined && share !== undefined) {
          printed.set(email, share);
        }
      }

      const keystore = await FileKeystore.open(path, {
        passphrase,
        organizationId,
        serverUrl,
        encryption: { scryptN: SCRYPT_MIN_N },
      });
      try {
        const missing = [...printed].filter(
          ([email, share]) =>
            keystore.list().find(([stored]) => stored === email)?.[1].user_key_share !== share,
        );
        expect(missing).toEqual([]);
      } finally {
        await keystore.close();
      }
    }

    expect(printed.size).toBeGreaterThan(KILLS * 40);
  });
});
