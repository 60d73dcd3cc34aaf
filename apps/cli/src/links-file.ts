import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { formatCsvField } from './csv.js';

/** Permission bits of a file of links: read and write for its owner only. */
export const LINKS_FILE_MODE = 0o600;

/** Formats `email,link` CSV lines with a header line. */
export function formatLinksCsv(links: readonly { email: string; link: string }[]): string {
  const lines = ['email,link'];
  for (const { email, link } of links) {
    lines.push(`${formatCsvField(email)},${formatCsvField(link)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the links as CSV to `path` with mode 0600, replacing the file
 * atomically (temporary file, fsync, rename), so a reader never sees half a file.
 */
export async function writeLinksFile(
  path: string,
  links: readonly { email: string; link: string }[],
): Promise<void> {
  const temporaryPath = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temporaryPath, 'w', LINKS_FILE_MODE);
  try {
    try {
      await handle.chmod(LINKS_FILE_MODE);
      await handle.writeFile(formatLinksCsv(links));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
}
