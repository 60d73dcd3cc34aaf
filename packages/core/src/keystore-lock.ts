import { unlinkSync } from 'node:fs';
import { type FileHandle, open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout } from 'node:timers/promises';

import { invalidArgument } from './argument-checks.js';
import { ProvisionsError } from './provisions-error.js';

/** Age after which a lock file with no readable owner counts as abandoned, in milliseconds. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

/**
 * Tries to create the lock before giving up with `ERR_LOCKED`. Each failed try removed an
 * abandoned lock or waited for another caller that was removing one.
 */
const LOCK_ATTEMPTS = 5;

/** Wait before the next try while another caller removes an abandoned lock, in milliseconds. */
const TAKEOVER_WAIT_MS = 20;

/** Another live process holds the lock, or the lock file cannot be created. */
export class LockFileError extends ProvisionsError {
  declare readonly code: 'ERR_LOCKED' | 'ERR_LOCK_IO';

  constructor(code: 'ERR_LOCKED' | 'ERR_LOCK_IO', message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A lock held by this process; release it when done. */
export interface LockFile {
  /** Path of the lock file. */
  readonly path: string;
  /** Deletes the lock file if it is still this process's. */
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  hostname: string;
  created_at: string;
}

/**
 * Takes an exclusive lock by creating `path` with O_EXCL; the file holds the
 * JSON `{ pid, hostname, created_at }` of the owner. A lock left by a process
 * that no longer runs on this host is removed and taken. The lock is also
 * removed when this process exits normally.
 *
 * Callers that find the same abandoned lock remove it one at a time, each
 * holding `<path>.takeover` (created with O_EXCL) and removing the lock only
 * if it still has the content they found. So a caller does not delete the new
 * lock of another, and only one of them takes the lock, with the exception below.
 *
 * NOTE: a `<path>.takeover` older than 10 seconds counts as left by a killed
 * caller and is removed by path, which is not atomic with the age check. So a
 * caller that stalls longer than that with the guard open, or two callers that
 * find the same such guard, can still both remove and take the lock.
 *
 * @param path - the lock file, such as `keystore.json.lock`.
 * @param what - what the lock protects, for the error message.
 * @throws LockFileError `ERR_LOCKED` naming the process that holds the lock (or, for a lock
 *   file that names none and is younger than 10 seconds, the seconds until it is abandoned),
 *   or `ERR_LOCK_IO` when the lock file cannot be created; ProvisionsError
 *   `ERR_INVALID_ARGUMENT` for a `path` that is not a non-empty string.
 */
export async function acquireLockFile(path: string, what: string): Promise<LockFile> {
  if (typeof path !== 'string' || path === '') {
    throw invalidArgument('path', 'a non-empty string', path);
  }
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt += 1) {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: hostname(),
      created_at: new Date().toISOString(),
    };
    const content = `${JSON.stringify(owner)}\n`;

    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } catch (cause) {
        // The file is this process's own, so an empty or partial one (a full disk) is
        // removed instead of looking like another process's lock to the next run.
        await handle.close();
        await unlink(path).catch(() => undefined);
        throw cause;
      }
      await handle.close();
      return ownedLock(path, content);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        const remedy = code === 'ENOSPC' ? ': the disk is full; free space, then try again' : '';
        throw new LockFileError(
          'ERR_LOCK_IO',
          `cannot create lock file ${path} (${code ?? 'error'})${remedy}`,
          { cause },
        );
      }
    }

    const existing = await readLock(path);
    if (existing === undefined) {
      continue;
    }
    if (!(await isAbandoned(path, existing.owner))) {
      if (existing.owner === undefined) {
        const seconds = await secondsUntilAbandoned(path);
        throw new LockFileError(
          'ERR_LOCKED',
          `${what} is locked, but its lock file ${path} names no process, as when a command is killed while it takes the lock: run the command again in ${seconds} s, when the lock counts as abandoned, or delete the lock file now if no other command is running`,
        );
      }
      if (existing.owner.pid === process.pid && existing.owner.hostname === hostname()) {
        throw new LockFileError(
          'ERR_LOCKED',
          `${what} is already open in this process (lock file ${path}): close it before opening it again`,
        );
      }
      throw new LockFileError(
        'ERR_LOCKED',
        `${what} is in use by process ${existing.owner.pid} on ${existing.owner.hostname} (lock file ${path}): wait for it to finish, or delete the lock file if no such process runs`,
      );
    }

    await removeAbandonedLock(path, existing.text);
  }

  throw new LockFileError('ERR_LOCKED', `${what} is locked (lock file ${path}): try again`);
}

/**
 * Deletes the abandoned lock at `path` if it still contains `text`, holding `<path>.takeover`
 * meanwhile. Without that guard, a caller that read `text` could delete the lock that another
 * caller created after removing the same abandoned one. When another caller holds the guard,
 * this waits briefly instead and leaves the lock to that caller.
 */
async function removeAbandonedLock(path: string, text: string): Promise<void> {
  const guardPath = `${path}.takeover`;
  let guard: FileHandle;
  try {
    guard = await open(guardPath, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LockFileError(
        'ERR_LOCK_IO',
        `cannot create lock file ${guardPath} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause },
      );
    }
    const guardAge = await lockAge(guardPath);
    // The guard's holder removed it since the open failed, so the next try may create it. Its
    // path may already be another caller's new guard, which must not be removed as stale.
    if (guardAge === Number.POSITIVE_INFINITY) {
      return;
    }
    // A guard this old was left by a caller killed while it held it.
    if (guardAge > UNREADABLE_LOCK_STALE_MS) {
      await unlink(guardPath).catch(() => undefined);
    } else {
      await setTimeout(TAKEOVER_WAIT_MS);
    }
    return;
  }

  try {
    const current = await readLock(path);
    if (current?.text === text) {
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await guard.close();
    await unlink(guardPath).catch(() => undefined);
  }
}

function ownedLock(path: string, content: string): LockFile {
  let released = false;
  const onExit = (): void => {
    try {
      unlinkSync(path);
    } catch {
      // The lock file is already gone; nothing to release.
    }
  };
  process.once('exit', onExit);

  return {
    path,
    release: async () => {
      if (released) {
        return;
      }
      released = true;
      process.removeListener('exit', onExit);
      const current = await readLock(path);
      if (current?.text === content) {
        await unlink(path).catch(() => undefined);
      }
    },
  };
}

async function readLock(path: string): Promise<{ text: string; owner?: LockOwner } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }

  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string') {
      return { text, owner: value as LockOwner };
    }
  } catch {
    // An unreadable owner is judged by the file's age below.
  }
  return { text };
}

/** Returns the age of the lock file at `path` in milliseconds, or `Infinity` once it is gone. */
async function lockAge(path: string): Promise<number> {
  const modified = await stat(path).then(
    (stats) => stats.mtimeMs,
    () => Number.NEGATIVE_INFINITY,
  );
  return Date.now() - modified;
}

/** Returns the whole seconds, at least 1, until a lock file that names no owner is abandoned. */
async function secondsUntilAbandoned(path: string): Promise<number> {
  const remainingMs = UNREADABLE_LOCK_STALE_MS - (await lockAge(path));
  return Math.max(1, Math.ceil(remainingMs / 1000));
}

async function isAbandoned(path: string, owner: LockOwner | undefined): Promise<boolean> {
  if (owner === undefined) {
    // The owner may have crashed between creating the file and writing it.
    return (await lockAge(path)) > UNREADABLE_LOCK_STALE_MS;
  }

  if (owner.hostname !== hostname()) {
    return false;
  }
  if (owner.pid === process.pid) {
    return false;
  }

  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
