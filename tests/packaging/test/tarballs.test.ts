import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';

/** Reads one file out of a gzipped tarball with the system `tar`. */
function readFromTarball(tarball: string, path: string): string {
  return execFileSync('tar', ['--extract', '--to-stdout', '--file', tarball, path], {
    encoding: 'utf8',
  });
}

describe('packed tarballs', () => {
  const packed = inject('packed');

  it('cover every published package', () => {
    expect(packed.map(({ name }) => name)).toEqual([
      '@provisions/api',
      '@provisions/cli',
      '@provisions/core',
      '@provisions/crypto',
      '@provisions/openapi',
      '@provisions/server',
    ]);
  });

  it.each(packed)('$name has no workspace: range', ({ tarball }) => {
    const manifest = readFromTarball(tarball, 'package/package.json');

    expect(manifest).not.toContain('workspace:');
  });

  it.each(packed)('$name ships its README and license', ({ tarball }) => {
    const listing = execFileSync('tar', ['--list', '--file', tarball], { encoding: 'utf8' });

    expect(listing.split('\n')).toContain('package/README.md');
    expect(listing.split('\n')).toContain('package/LICENSE');
  });
});
