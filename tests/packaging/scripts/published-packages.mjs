// The published packages of the workspace and how to pack them, shared by the packaging test
// and the package lint.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Absolute path of the workspace root. */
export const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Lists the workspace packages that are not `private`, that is every package that
 * `changeset publish` publishes.
 *
 * @returns {{ name: string; dir: string }[]} package names and absolute directories, by name
 */
export function listPublishedPackages() {
  const output = execFileSync('pnpm', ['ls', '--recursive', '--depth', '-1', '--json'], {
    cwd: workspaceRoot,
    encoding: 'utf8',
  });

  /** @type {{ name: string; path: string; private: boolean }[]} */
  const packages = JSON.parse(output);

  return packages
    .filter((entry) => !entry.private)
    .map((entry) => ({ name: entry.name, dir: entry.path }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Packs one package with `pnpm pack`, which rewrites `workspace:` ranges to the versions
 * of the workspace packages, as `pnpm publish` and `changeset publish` do.
 *
 * @param {string} dir absolute directory of the package
 * @param {string} destination directory that receives the tarball
 * @returns {string} absolute path of the tarball
 */
export function packPackage(dir, destination) {
  const output = execFileSync('pnpm', ['pack', '--json', '--pack-destination', destination], {
    cwd: dir,
    encoding: 'utf8',
  });

  return JSON.parse(output).filename;
}
