import { describe, expect, it } from 'vitest';

import { describeFileError, isPathProblem } from '../src/file-error.js';

/** Returns an error like the one Node.js raises for a failed file operation with `code`. */
function fileError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, open '/data/keystore.json.lock'`), {
    code,
    syscall: 'open',
    path: '/data/keystore.json.lock',
  });
}

describe('describeFileError', () => {
  it('names a read-only file system', () => {
    const error = fileError('EROFS');

    expect(describeFileError('/data/keystore.json.lock', error)).toBe(
      '/data/keystore.json.lock is on a read-only file system (EROFS): choose a path on a writable file system',
    );
    expect(isPathProblem(error)).toBe(true);
  });

  it('gives a code without words as it is', () => {
    const error = fileError('EIO');

    expect(describeFileError('/data/keystore.json', error)).toBe('/data/keystore.json: EIO');
    expect(isPathProblem(error)).toBe(false);
  });
});
