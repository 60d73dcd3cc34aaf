import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';

const execFileAsync = promisify(execFile);

/** The two resolution modes TypeScript users pick for ESM: bundlers and Node's own. */
const RESOLUTIONS = [
  { moduleResolution: 'bundler', module: 'esnext' },
  { moduleResolution: 'node16', module: 'node16' },
];

/**
 * Copies `fixture` into a new directory of `project` (the library project unless given), writes a tsconfig.json with
 * `compilerOptions` for it, and runs the installed TypeScript compiler.
 *
 * @returns the compiler's diagnostics, empty when the fixture type-checks.
 */
async function typeCheck(
  directoryName: string,
  fixture: string,
  compilerOptions: Record<string, unknown>,
  project = inject('libraryProject'),
): Promise<string> {
  const directory = join(project, directoryName);
  await mkdir(directory, { recursive: true });
  await copyFile(new URL(`../fixtures/${fixture}`, import.meta.url), join(directory, fixture));

  // skipLibCheck is off, so the declarations themselves are checked too.
  const tsconfig = {
    compilerOptions: { ...compilerOptions, noEmit: true, skipLibCheck: false },
    files: [fixture],
  };
  await writeFile(join(directory, 'tsconfig.json'), JSON.stringify(tsconfig));

  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  return execFileAsync(process.execPath, [tsc, '-p', directory], { cwd: project }).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
}

describe('installed declarations', () => {
  it.each(RESOLUTIONS)('type-check with moduleResolution $moduleResolution', async (settings) => {
    const result = await typeCheck(`types-${settings.moduleResolution}`, 'consumer.ts', {
      ...settings,
      target: 'es2022',
      lib: ['es2022', 'dom'],
      types: ['node'],
      strict: true,
    });

    expect(result).toBe('');
  });

  // A Node.js project without the DOM library: a DOM-only type such as CryptoKey in the
  // crypto declarations fails to compile there.
  it.each(RESOLUTIONS)(
    'crypto type-checks without DOM, moduleResolution $moduleResolution',
    async (settings) => {
      const result = await typeCheck(
        `types-node-only-${settings.moduleResolution}`,
        'crypto-node-consumer.ts',
        {
          ...settings,
          target: 'es2023',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
        },
      );

      expect(result).toBe('');
    },
  );

  // The server's declarations name better-sqlite3's types, which must come with it.
  it('server type-checks where the CLI is installed', async () => {
    const result = await typeCheck(
      'types-server',
      'server-consumer.ts',
      {
        moduleResolution: 'node16',
        module: 'node16',
        target: 'es2022',
        lib: ['es2022'],
        types: ['node'],
        strict: true,
      },
      inject('cliProject'),
    );

    expect(result).toBe('');
  });

  // A browser project: the DOM library and no Node.js types. A Node.js type such as Buffer in
  // any declaration that the api or core entries reach fails to compile there.
  it.each(RESOLUTIONS)(
    'api and core type-check without Node.js types, moduleResolution $moduleResolution',
    async (settings) => {
      const result = await typeCheck(
        `types-dom-only-${settings.moduleResolution}`,
        'dom-consumer.ts',
        {
          ...settings,
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: [],
          strict: true,
        },
      );

      expect(result).toBe('');
    },
  );
});
