import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const execFileAsync = promisify(execFile);

/** The READMEs of the libraries, whose TypeScript examples a third party copies. */
const READMES = ['crypto', 'api', 'core'].map((name) => ({
  name,
  url: new URL(`../../../packages/${name}/README.md`, import.meta.url),
}));

/** Returns the code of each ```ts block of a Markdown text. */
function typescriptBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

async function writeExamples(directory: string): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const files: string[] = [];
  for (const { name, url } of READMES) {
    const blocks = typescriptBlocks(await readFile(url, 'utf8'));
    for (const [index, code] of blocks.entries()) {
      const file = `${name}-${index + 1}.ts`;
      await writeFile(join(directory, file), code);
      files.push(file);
    }
  }
  return files;
}

/** Runs the installed `tsc` on a project directory and returns its errors, if any. */
async function compile(project: string, directory: string): Promise<string> {
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  return execFileAsync(process.execPath, [tsc, '-p', directory], { cwd: project }).then(
    () => '',
    (error: Error & { stdout?: string; stderr?: string }) =>
      `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message,
  );
}

describe('README examples', () => {
  const project = inject('libraryProject');
  const directory = join(project, 'readme-examples');
  let files: string[] = [];
  let compilerOutput = '';

  beforeAll(async () => {
    files = await writeExamples(directory);
    // The strictest settings a user is likely to have, with the declarations checked too.
    const tsconfig = {
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        outDir: 'dist',
      },
      files,
    };
    await writeFile(join(directory, 'tsconfig.json'), JSON.stringify(tsconfig));
    compilerOutput = await compile(project, directory);
  });

  it('compile against the installed packages', () => {
    expect(files.filter((file) => file.startsWith('crypto-')).length).toBeGreaterThanOrEqual(2);
    expect(files).toContain('api-1.ts');
    expect(files).toContain('core-1.ts');
    expect(compilerOutput).toBe('');
  });

  // The crypto examples need no server, so they run as well. The provider example only
  // resolves if its node:crypto provider passes the package's known-answer checks.
  it('crypto examples run', async () => {
    const scripts = files
      .filter((file) => file.startsWith('crypto-'))
      .map((file) => join(directory, 'dist', file.replace(/\.ts$/, '.js')));

    for (const script of scripts) {
      const { stdout, stderr } = await execFileAsync(process.execPath, [script], { cwd: project });

      expect({ script, stdout, stderr }).toEqual({ script, stdout: '', stderr: '' });
    }
  });
});
