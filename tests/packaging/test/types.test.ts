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

describe('installed declarations', () => {
  it.each(RESOLUTIONS)('type-check with moduleResolution $moduleResolution', async (settings) => {
    const project = inject('libraryProject');
    const directory = join(project, `types-${settings.moduleResolution}`);
    await mkdir(directory, { recursive: true });
    await copyFile(
      new URL('../fixtures/consumer.ts', import.meta.url),
      join(directory, 'consumer.ts'),
    );

    // skipLibCheck is off, so the declarations themselves are checked too.
    const tsconfig = {
      compilerOptions: {
        ...settings,
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['consumer.ts'],
    };
    await writeFile(join(directory, 'tsconfig.json'), JSON.stringify(tsconfig));

    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await execFileAsync(process.execPath, [tsc, '-p', directory], {
      cwd: project,
    }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );

    expect(result).toBe('');
  });
});
