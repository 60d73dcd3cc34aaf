import { lstat, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { writePrivateFile } from './private-file.js';
import type { OpenedSummary } from './summary.js';

/** Permission bits of the directories of saved boxes: the owner only. */
const SAVED_DIRECTORY_MODE = 0o700;

/**
 * An existing path under the output directory that saving would have to follow or replace,
 * such as a symbolic link at a box directory.
 */
export class UnsafeOutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeOutputPathError';
  }
}

/**
 * Saves opened boxes under `directory`, one directory per box named by its
 * id: `title.txt` with the title, and `message-001.txt`, `message-002.txt`…
 * with each message, oldest first. A message that a box member posted, rather than the
 * organization, is saved as `member-message-NNN.txt` instead, numbered in the same sequence,
 * and a `message-NNN.txt` of that number left by an earlier version is deleted.
 * Files get mode 0600. Box ids are UUIDs, so a title chosen by the sender never becomes a
 * path.
 *
 * Another user who can write in `directory` could have placed symbolic links in it, so no
 * link below `directory` is followed. A box directory must be a real directory, and each file
 * is written to a new temporary file that is renamed over the old path.
 *
 * @returns the paths written, in order.
 * @throws UnsafeOutputPathError when a box directory exists but is not a real directory.
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
    await makeBoxDirectory(boxDirectory);

    const titlePath = join(boxDirectory, 'title.txt');
    await writePrivateFile(titlePath, `${box.title}\n`);
    written.push(titlePath);

    for (const [index, message] of box.messages.entries()) {
      const number = String(index + 1).padStart(3, '0');
      const organizationPath = join(boxDirectory, `message-${number}.txt`);
      if (message.sender.type === 'organization') {
        await writePrivateFile(organizationPath, message.text);
        written.push(organizationPath);
        continue;
      }

      // The name of a member's message does not start with `message-`, so a reader or a
      // script that takes `message-*.txt` as the organization's messages cannot mistake it
      // for one.
      const memberPath = join(boxDirectory, `member-message-${number}.txt`);
      await writePrivateFile(memberPath, message.text);
      written.push(memberPath);
      // Earlier versions saved a member's message as `message-NNN.txt` as well.
      await removeIfPresent(organizationPath);
    }
  }

  return written;
}

/** Deletes the file or link at `path`, if any, without following a link. */
async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
}

/**
 * Creates `path` as a directory, or accepts an existing real directory there.
 *
 * NOTE: a user who can write in the parent can still swap the directory for a symbolic
 * link between this check and the writes. Node.js has no `openat`, so the writes cannot be
 * tied to the directory checked here. The files would then land in the link's target (mode
 * 0600), replacing files named `title.txt` or `message-NNN.txt` there.
 */
async function makeBoxDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: SAVED_DIRECTORY_MODE });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }

  const stats = await lstat(path);
  if (stats.isSymbolicLink()) {
    throw new UnsafeOutputPathError(`${path} is a symbolic link, not a directory`);
  }
  if (!stats.isDirectory()) {
    throw new UnsafeOutputPathError(`${path} exists and is not a directory`);
  }
}
