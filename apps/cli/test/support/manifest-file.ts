import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `<name>.csv` in `directory`: a CSV manifest of `count` recipients named
 * `<name><index>@example.com`, one box each. Returns its path.
 */
export async function writeManifest(
  directory: string,
  name: string,
  count: number,
): Promise<string> {
  const path = join(directory, `${name}.csv`);
  const rows = Array.from({ length: count }, (_, index) => `${name}${index}@example.com,Box,hi`);
  await writeFile(path, `email,title,message\n${rows.join('\n')}\n`);
  return path;
}

/** Returns the arguments of `provisions send --manifest` with a keystore and more options. */
export function manifestArgs(manifest: string, keystore: string, ...options: string[]): string[] {
  return ['send', '--manifest', manifest, '--keystore', keystore, ...options];
}

/** Returns the lines of `stderr` that start with `prefix`. */
export function linesStarting(stderr: string, prefix: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith(prefix));
}
