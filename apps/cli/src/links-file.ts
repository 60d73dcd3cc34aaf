import { formatCsvField } from './csv.js';
import { writePrivateFile } from './private-file.js';

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
  await writePrivateFile(path, formatLinksCsv(links), { sync: true });
}
