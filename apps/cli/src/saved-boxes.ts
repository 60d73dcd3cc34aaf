import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { OpenedSummary } from './summary.js';

/** Permission bits of saved messages and their directories: the owner only. */
const SAVED_FILE_MODE = 0o600;
const SAVED_DIRECTORY_MODE = 0o700;

/**
 * Saves opened boxes under `directory`, one directory per box named by its
 * id: `title.txt` with the title, and `message-001.txt`, `message-002.txt`…
 * with each message, oldest first. Files get mode 0600. Box ids are UUIDs,
 * so a title chosen by the sender never becomes a path.
 *
 * @returns the paths written, in order.
 */
export async function saveOpenedBoxes(
  directory: string,
  boxes: OpenedSummary['boxes'],
): Promise<string[]> {
  const written: string[] = [];
  await mkdir(directory, { recursive: true, mode: SAVED_DIRECTORY_MODE });

  for (const box of boxes) {
    if (!/^[0-9a-f-]{36}$/.test(box.id)) {
      throw new Error(
        `box id ${JSON.stringify(box.id)} is not a UUID; refusing to use it as a directory name`,
      );
    }
    const boxDirectory = join(directory, box.id);
    await mkdir(boxDirectory, { recursive: true, mode: SAVED_DIRECTORY_MODE });

    const titlePath = join(boxDirectory, 'title.txt');
    await writeFile(titlePath, `${box.title}\n`, { mode: SAVED_FILE_MODE });
    written.push(titlePath);

    for (const [index, message] of box.messages.entries()) {
      const path = join(boxDirectory, `message-${String(index + 1).padStart(3, '0')}.txt`);
      await writeFile(path, message, { mode: SAVED_FILE_MODE });
      written.push(path);
    }
  }

  return written;
}
