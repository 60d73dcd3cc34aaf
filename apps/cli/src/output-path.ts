import { constants, type Stats } from 'node:fs';
import {
  access,
  type FileHandle,
  lstat,
  open,
  readlink,
  realpath,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';

import { type CliError, usageError } from './cli-error.js';
import { describeFileError, describeFileKind } from './file-error.js';
import { PRIVATE_FILE_MODE, temporaryPathFor } from './private-file.js';

/** A file the command reads or keeps, which an output file must not replace. */
export interface InputFile {
  /** The path as given. */
  path: string;
  /** Description of the file for the error, such as `the keystore (--keystore)`. */
  role: string;
}

/**
 * Checks, before any work, that a file can be written at `path`. The path must not be empty
 * or end with a slash, and must not name a directory, another non-regular file or one of
 * `inputs` (compared by path and, for existing files, by device and inode). Its directory
 * must exist and be writable, and a new file must be creatable in it, so the temporary file
 * that the command later writes and renames over `path` is created and removed again. An
 * existing file or link at `path` is left as it is until then.
 *
 * @param option - the option that named the path, for the error, such as `--links-out`.
 * @param inputs - files of the same command that writing `path` would destroy.
 * @throws CliError (exit code 2) naming the option and the problem.
 */
export async function checkOutputFile(
  path: string,
  option: string,
  inputs: readonly InputFile[] = [],
): Promise<void> {
  if (path === '') {
    throw usageError(`${option}: the path is empty; expected the path of a file to write`);
  }
  if (path.endsWith('/') || path.endsWith(sep)) {
    throw usageError(
      `${option}: ${path} ends with "${path.at(-1)}", which names a directory; expected the path of a file to write`,
    );
  }

  const existing = await statOrUndefined(path, option);
  for (const input of inputs) {
    if (await isSameFile(path, existing, input.path)) {
      throw usageError(
        `${option}: ${path} is ${input.role}, which the output would replace; choose another file`,
      );
    }
  }
  if (existing !== undefined && !existing.isFile()) {
    throw await notAFileError(path, existing, option);
  }

  const directory = dirname(resolve(path));
  const parent = await statOrUndefined(directory, option);
  if (parent === undefined) {
    throw usageError(`${option}: directory ${directory} does not exist; create it first`);
  }
  if (!parent.isDirectory()) {
    throw usageError(`${option}: ${directory} is ${describeFileKind(parent)}, not a directory`);
  }
  await checkWritable(directory, option);
  await checkCreatable(path, option);
}

/**
 * Checks, before any work, that files can be saved under the directory `path`: it is a
 * directory, or it does not exist yet and its nearest existing parent is a directory, which
 * must be writable because it is created there. A symbolic link whose target is missing, at
 * `path` or among its parents, is rejected, because the directory cannot be created through it.
 *
 * @param option - the option that named the path, for the error, such as `--out`.
 * @throws CliError (exit code 2) naming the option and the problem.
 */
export async function checkOutputDirectory(path: string, option: string): Promise<void> {
  if (path === '') {
    throw usageError(
      `${option}: the path is empty; expected a directory, which is created if missing`,
    );
  }

  let current = resolve(path);
  for (;;) {
    const found = await statOrUndefined(current, option);
    if (found !== undefined) {
      if (!found.isDirectory()) {
        throw current === resolve(path)
          ? await notADirectoryError(path, found, option)
          : usageError(
              `${option}: ${current} is ${describeFileKind(found)}, so ${path} cannot be created`,
            );
      }
      await checkWritable(current, option);
      return;
    }
    await checkNotDanglingLink(path, current, option);

    const parent = dirname(current);
    if (parent === current) {
      return;
    }
    current = parent;
  }
}

/**
 * Rejects `current`, a part of the output directory `path` that `stat` did not find, when it
 * is a symbolic link, which means that its target is missing.
 */
async function checkNotDanglingLink(path: string, current: string, option: string): Promise<void> {
  const stats = await lstat(current).catch(() => undefined);
  if (stats === undefined || !stats.isSymbolicLink()) {
    return;
  }

  // The link can be removed between the two calls, and then there is nothing to report.
  const linked = await readlink(current).catch(() => undefined);
  if (linked === undefined) {
    return;
  }

  const target = resolve(dirname(current), linked);
  const link = current === resolve(path) ? path : `${current}, in ${path},`;
  throw usageError(
    `${option}: ${link} is a symbolic link to ${target}, which does not exist; remove the link or choose another path`,
  );
}

/**
 * Creates the error for an output file path that exists and is not a regular file. When `path`
 * is a symbolic link, `stats` describe its target, so the message names both.
 */
async function notAFileError(path: string, stats: Stats, option: string): Promise<CliError> {
  const target = await symbolicLinkTarget(path);
  if (target === undefined) {
    return usageError(
      `${option}: ${path} is ${describeFileKind(stats)}; expected the path of a file to write`,
    );
  }

  const remedy = stats.isDirectory()
    ? `name a file in it, such as ${join(target, basename(path))}, or remove the link`
    : 'remove the link or choose another path';
  return usageError(
    `${option}: ${path} is a symbolic link to ${target}, which is ${describeFileKind(stats)}, not a file to write; ${remedy}`,
  );
}

/** Creates the error for an output directory path that exists and is not a directory. */
async function notADirectoryError(path: string, stats: Stats, option: string): Promise<CliError> {
  const target = await symbolicLinkTarget(path);
  if (target === undefined) {
    return usageError(
      `${option}: ${path} is ${describeFileKind(stats)}; expected a directory, which is created if missing`,
    );
  }

  return usageError(
    `${option}: ${path} is a symbolic link to ${target}, which is ${describeFileKind(stats)}, not a directory; remove the link or choose another path`,
  );
}

/**
 * Resolves `path` to the absolute path at the end of its chain of symbolic links when `path`
 * itself is a link. Returns `undefined` when it is not a link or the chain cannot be resolved.
 */
async function symbolicLinkTarget(path: string): Promise<string | undefined> {
  const stats = await lstat(path).catch(() => undefined);
  if (stats === undefined || !stats.isSymbolicLink()) {
    return undefined;
  }

  return realpath(path).catch(() => undefined);
}

async function isSameFile(
  path: string,
  stats: Stats | undefined,
  otherPath: string,
): Promise<boolean> {
  if (resolve(path) === resolve(otherPath)) {
    return true;
  }
  if (stats === undefined) {
    return false;
  }

  // A link or another spelling of the path can name the same file.
  const other = await stat(otherPath).catch(() => undefined);
  return other !== undefined && other.dev === stats.dev && other.ino === stats.ino;
}

/**
 * Returns the stats of `path`, following symbolic links, or `undefined` if it does not exist
 * (ENOENT) or a parent is a file (ENOTDIR), which the caller finds when it checks the parents.
 *
 * @param option - the option that named the path, for the error, such as `--outbox`.
 * @throws CliError (exit code 2) naming the option for any other error, such as EACCES or ELOOP.
 */
export async function statOrUndefined(path: string, option: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return undefined;
    }
    throw usageError(`${option}: ${describeFileError(path, error)}`);
  }
}

async function checkWritable(directory: string, option: string): Promise<void> {
  try {
    await access(directory, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw usageError(`${option}: cannot write in directory ${directory} (${code})`);
  }
}

/**
 * Creates and removes the temporary file that `writePrivateFile` creates for
 * `path`, since the file is written there and then renamed over `path`. A permission check
 * alone passes for root even where no file can be created, such as in /proc, or on a
 * read-only file system. `path` itself is not opened: it may be a symbolic link to a missing
 * file, which the rename replaces like any other link.
 */
async function checkCreatable(path: string, option: string): Promise<void> {
  const temporaryPath = temporaryPathFor(path);
  let handle: FileHandle;
  try {
    handle = await open(temporaryPath, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw usageError(`${option}: cannot create ${path} (${code})`);
  }

  await handle.close();
  await unlink(temporaryPath);
}
