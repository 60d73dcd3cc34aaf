// Measures what `@provisions/crypto` adds to a browser bundle: the whole package entry,
// bundled with its dependencies by esbuild for browsers, minified, then gzipped with zlib at
// level 9. Needs the package built first (`pnpm turbo run build --filter=@provisions/crypto`).
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** What a browser app imports, from the everything-imported case down to one primitive. */
const ENTRIES = [
  { label: 'every export', source: "export * from '@provisions/crypto';" },
  {
    label: 'seal and open only',
    source: "export { open, seal } from '@provisions/crypto';",
  },
];

const { version } = await import('esbuild');

/** @param {number} bytes */
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

console.log(`@provisions/crypto browser bundle size (esbuild ${version}, minified, gzip level 9)`);

for (const { label, source } of ENTRIES) {
  const result = await build({
    stdin: { contents: source, resolveDir: import.meta.dirname, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const bundle = result.outputFiles[0]?.contents ?? new Uint8Array();
  const gzipped = gzipSync(bundle, { level: 9 });

  console.log(
    `${label.padEnd(20)} minified ${kib(bundle.length).padStart(10)}   gzipped ${kib(gzipped.length).padStart(9)} (${gzipped.length} bytes)`,
  );
}
