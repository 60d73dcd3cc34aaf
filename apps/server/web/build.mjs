// Builds the recipient page into dist/web/: join.html and assets/ with content-hashed
// names. Run by the package's build script; the server serves the result at /join.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const webDirectory = dirname(fileURLToPath(import.meta.url));
const packageDirectory = dirname(webDirectory);
const outputDirectory = join(packageDirectory, 'dist', 'web');

// @provisions/core is bundled from its TypeScript source: its dist is built after this
// package, because core's own tests start this server (see turbo.json).
const coreSource = fileURLToPath(import.meta.resolve('@provisions/core/package.json'));
const coreEntry = join(dirname(coreSource), 'src', 'index.ts');

await rm(outputDirectory, { recursive: true, force: true });
await mkdir(join(outputDirectory, 'assets'), { recursive: true });

const result = await build({
  entryPoints: {
    join: join(webDirectory, 'src', 'main.ts'),
    style: join(webDirectory, 'join.css'),
  },
  alias: { '@provisions/core': coreEntry },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: join(outputDirectory, 'assets'),
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const script = outputs.find(([, output]) => output.entryPoint?.endsWith('main.ts'))?.[0];
const style = outputs.find(([, output]) => output.entryPoint?.endsWith('join.css'))?.[0];
if (script === undefined || style === undefined) {
  throw new Error('esbuild produced no script or no style sheet for the recipient page');
}

// The icon is copied under a name with a hash of its content, like esbuild's outputs.
const icon = await readFile(join(webDirectory, 'icon.svg'));
const iconHash = createHash('sha256').update(icon).digest('hex').slice(0, 8).toUpperCase();
const iconName = `icon-${iconHash}.svg`;
await writeFile(join(outputDirectory, 'assets', iconName), icon);

const template = await readFile(join(webDirectory, 'join.html'), 'utf8');
const html = template
  .replace('{{script}}', basename(script))
  .replace('{{style}}', basename(style))
  .replace('{{icon}}', iconName);
await writeFile(join(outputDirectory, 'join.html'), html);

const sizes = outputs.map(([path, output]) => `${basename(path)} ${output.bytes} bytes`);
sizes.push(`${iconName} ${icon.length} bytes`);
process.stdout.write(`recipient page built: ${sizes.join(', ')}\n`);
