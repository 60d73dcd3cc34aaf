import type { Stats } from 'node:fs';

/** Wording of an errno code of a failed file operation: the problem and the next step. */
interface FileErrorWording {
  /** Predicate for the path, such as `is a directory`. */
  problem: string;
  next: string;
}

const FILE_ERROR_WORDING: Readonly<Record<string, FileErrorWording>> = {
  ENOENT: { problem: 'does not exist', next: 'check the path' },
  EISDIR: { problem: 'is a directory', next: 'give the path of a file' },
  ENOTDIR: {
    problem: 'has a file where a directory is expected',
    next: 'check each directory of the path',
  },
  EACCES: {
    problem: 'cannot be opened: permission denied',
    next: 'check the permissions of the file and its directories',
  },
  EPERM: {
    problem: 'cannot be opened: operation not permitted',
    next: 'check the permissions of the file and its directories',
  },
  ELOOP: {
    problem: 'leads through a loop of symbolic links',
    next: 'remove a link of the loop or choose another path',
  },
  ENAMETOOLONG: { problem: 'is too long a path', next: 'choose a shorter path' },
  EROFS: {
    problem: 'is on a read-only file system',
    next: 'choose a path on a writable file system',
  },
};

/** Returns the errno code of a failed file operation, such as `ENOENT`, or `undefined`. */
export function fileErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Returns whether {@link describeFileError} has words for the errno code of `error`. Such a code
 * is a problem with the path that the person can fix, unlike a failing disk (EIO).
 */
export function isPathProblem(error: unknown): boolean {
  const code = fileErrorCode(error);
  return code !== undefined && Object.hasOwn(FILE_ERROR_WORDING, code);
}

/**
 * Describes why a file operation on `path` failed, in words followed by the errno code and the
 * next step, such as `/tmp/x is a directory (EISDIR): give the path of a file`. A code without
 * words is given as it is: `/tmp/x: EIO`.
 */
export function describeFileError(path: string, error: unknown): string {
  const code = fileErrorCode(error);
  const wording = code === undefined ? undefined : FILE_ERROR_WORDING[code];
  if (wording === undefined) {
    return `${path}: ${code ?? (error as Error).message}`;
  }
  return `${path} ${wording.problem} (${code}): ${wording.next}`;
}

/**
 * Returns the problem of an input file at `path` whose `stats` are not those of a regular file,
 * such as `m.csv is a named pipe; expected a regular file`, or `undefined` for a regular file.
 * Check before opening, because opening a named pipe blocks a thread until another process
 * opens it for writing, and process.exit waits for that thread, so even the CLI's SIGINT and
 * SIGTERM handlers cannot end the process.
 */
export function describeNotRegularFile(
  path: string,
  stats: Stats,
  expected = 'a regular file',
): string | undefined {
  if (stats.isFile()) {
    return undefined;
  }
  return `${path} is ${describeFileKind(stats)}; expected ${expected}`;
}

/** Returns the kind of a file, such as `a file` or `a named pipe`. */
export function describeFileKind(stats: Stats): string {
  if (stats.isDirectory()) {
    return 'a directory';
  }
  if (stats.isFile()) {
    return 'a file';
  }
  if (stats.isFIFO()) {
    return 'a named pipe';
  }
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    return 'a device';
  }
  if (stats.isSocket()) {
    return 'a socket';
  }
  return 'not a regular file';
}
