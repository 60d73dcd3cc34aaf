import { formatCsvField } from './csv.js';
import { writePrivateFile } from './private-file.js';

/** How to get the links of `send` that an error kept from stdout or a links file. */
export const EXPORT_LINKS =
  'the links are in the keystore, and "provisions keystore export --out FILE" writes them';

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
