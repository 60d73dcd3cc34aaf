import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { listPublishedPackages, packPackage } from '../scripts/published-packages.mjs';
import { installTarballs, type PackedPackage } from './install.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Every published package and its tarball. */
    packed: PackedPackage[];
    /** A project outside the workspace with the three libraries installed from tarballs. */
    libraryProject: string;
    /** A project outside the workspace with only `@provisions/cli` installed from tarballs. */
    cliProject: string;
  }
}

/** TypeScript and Node's types, to type-check against the installed declarations. */
const TYPESCRIPT = { typescript: '5.9.3', '@types/node': '20.19.43' };

/** The libraries a third party installs directly. */
const LIBRARIES = ['@provisions/crypto', '@provisions/api', '@provisions/core'];

/**
 * Packs every published package once and installs the tarballs into two fresh projects in
 * the system temporary directory, far from the workspace's `node_modules`:
 *
 * - the library project depends on the three libraries;
 * - the CLI project depends on `@provisions/cli`, which brings the server and better-sqlite3
 *   (built from source) with it.
 *
 * Both also depend on TypeScript and Node's types, to type-check against the installed
 * declarations.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'provisions-packaging-'));
  const tarballs = join(root, 'tarballs');

  const packed = listPublishedPackages().map(({ name, dir }) => ({
    name,
    tarball: packPackage(dir, tarballs),
  }));

  const libraryProject = join(root, 'library-project');
  await installTarballs(libraryProject, packed, LIBRARIES, TYPESCRIPT);

  const cliProject = join(root, 'cli-project');
  await installTarballs(cliProject, packed, ['@provisions/cli'], TYPESCRIPT);

  project.provide('packed', packed);
  project.provide('libraryProject', libraryProject);
  project.provide('cliProject', cliProject);

  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
