// Runs publint (strict) and Are the Types Wrong (ESM-only profile) on every published
// package, as its packed tarball. Needs every package built first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPublishedPackages, packPackage } from './published-packages.mjs';

const tools = new URL('../node_modules/.bin/', import.meta.url);
const destination = mkdtempSync(join(tmpdir(), 'provisions-lint-'));
const failures = [];

try {
  for (const { name, dir } of listPublishedPackages()) {
    console.log(`\n${name}`);

    const publint = spawnSync(new URL('publint', tools).pathname, ['--strict', '--pack', 'pnpm'], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (publint.status !== 0) failures.push(`${name}: publint`);

    // attw checks the entry points' types, so a package without `types` (a command or a
    // data-only package) has nothing for it to check.
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (manifest.types === undefined) {
      console.log('attw: skipped, the package declares no types');
      continue;
    }

    const tarball = packPackage(dir, destination);
    const attw = spawnSync(
      new URL('attw', tools).pathname,
      ['--profile', 'esm-only', '--format', 'ascii', tarball],
      { stdio: 'inherit' },
    );
    if (attw.status !== 0) failures.push(`${name}: attw`);
  }
} finally {
  rmSync(destination, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\npackage lint failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('\npackage lint passed for every published package');
