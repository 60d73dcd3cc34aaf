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
