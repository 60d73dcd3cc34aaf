import { execFileSync } from 'node:child_process';
import { posix } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

/** Reads one file out of a gzipped tarball with the system `tar`. */
function readFromTarball(tarball: string, path: string): string {
  return execFileSync('tar', ['--extract', '--to-stdout', '--file', tarball, path], {
    encoding: 'utf8',
  });
}

function readManifest(tarball: string): {
  version: string;
  dependencies?: Record<string, string>;
} {
  return JSON.parse(readFromTarball(tarball, 'package/package.json'));
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

  it.each(packed)('$name accepts later releases of its siblings', ({ tarball }) => {
    const versions = new Map(
      packed.map((sibling) => [sibling.name, readManifest(sibling.tarball).version]),
    );
    const siblings = Object.entries(readManifest(tarball).dependencies ?? {}).filter(([name]) =>
      name.startsWith('@provisions/'),
    );

    for (const [name, range] of siblings) {
      expect({ name, range }).toEqual({ name, range: `^${versions.get(name)}` });
    }
  });

  it.each(packed)('$name ships its README and license', ({ tarball }) => {
    const listing = execFileSync('tar', ['--list', '--file', tarball], { encoding: 'utf8' });

    expect(listing.split('\n')).toContain('package/README.md');
    expect(listing.split('\n')).toContain('package/LICENSE');
  });

  it.each(packed)('$name source maps name only shipped files', ({ tarball }) => {
    const listing = new Set(
      execFileSync('tar', ['--list', '--file', tarball], { encoding: 'utf8' }).split('\n'),
    );
    const maps = [...listing].filter((path) => path.endsWith('.map'));
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFromTarball(tarball, map)) as { sources: string[] };
      return sources
        .map((source) => posix.normalize(posix.join(posix.dirname(map), source)))
        .filter((path) => !listing.has(path));
    });

    expect(missing).toEqual([]);
  });
});
