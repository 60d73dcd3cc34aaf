import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One packed package: its name and the absolute path of its tarball. */
export interface PackedPackage {
  name: string;
  tarball: string;
}

/**
 * Writes a `package.json` in `projectDir` that depends on `direct` packages by their tarball
 * and pins every other packed package to its tarball with `overrides`, then runs `npm install`.
 * The rest of the dependency tree comes from the npm registry, as it would for a user.
 *
 * better-sqlite3 is built from source because no prebuilt binary can be downloaded here.
 *
 * @throws Error with npm's output when the install fails
 */
export async function installTarballs(
  projectDir: string,
  packed: PackedPackage[],
  direct: string[],
  extraDependencies: Record<string, string> = {},
): Promise<void> {
  await mkdir(projectDir, { recursive: true });

  const tarballOf = Object.fromEntries(
    packed.map(({ name, tarball }) => [name, `file:${tarball}`]),
  );
  const dependencies: Record<string, string> = { ...extraDependencies };
  for (const name of direct) {
    const spec = tarballOf[name];
    if (spec === undefined) throw new Error(`no tarball was packed for ${name}`);
    dependencies[name] = spec;
  }
  const overrides = Object.fromEntries(
    Object.entries(tarballOf).filter(([name]) => !direct.includes(name)),
  );

  const manifest = {
    name: 'third-party-project',
    private: true,
    type: 'module',
    dependencies,
    overrides,
  };
  await writeFile(join(projectDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  try {
    await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: projectDir,
      env: { ...process.env, npm_config_build_from_source: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm install failed in ${projectDir}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/**
 * Returns the absolute path of the file that an installed package's `bin` entry names.
 *
 * @throws Error when the package has no such command
 */
export async function installedBin(
  projectDir: string,
  name: string,
  command: string,
): Promise<string> {
  const packageDir = join(projectDir, 'node_modules', name);
  const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const target = manifest.bin?.[command];
  if (target === undefined) throw new Error(`${name} declares no bin named ${command}`);

  return join(packageDir, target);
}
