// Measures seal, open, key generation, provision creation and share recovery in Debian's
// Chromium, driven by playwright-core: this package on its WebCrypto and noble backends
// against tweetnacl, in one page. The page is served from memory on an address that
// nothing listens on (Playwright answers every request), which counts as a secure
// context, so WebCrypto is available. Build the package first (dist/).
//
// Usage: node bench/browser.mjs. BENCH_MS, BENCH_ROUNDS, BENCH_VERBOSE and BENCH_CPU
// work as for bench.mjs; CHROMIUM_PATH overrides /usr/bin/chromium.

import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import {
  coreDescription,
  pinToOneCore,
  positiveIntegerFromEnv,
  requireBuild,
} from './run-options.mjs';
import { resultLines, targetLines } from './shared.mjs';

requireBuild();
await pinToOneCore(fileURLToPath(import.meta.url));

const MEASURE_MS = positiveIntegerFromEnv('BENCH_MS', 500);
const ROUNDS = positiveIntegerFromEnv('BENCH_ROUNDS', 3);
const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const ORIGIN = 'http://127.0.0.1:9';

const IMPORT_MAP = {
  imports: {
    '@noble/ciphers/': '/node_modules/@noble/ciphers/',
    '@noble/curves/': '/node_modules/@noble/curves/',
    '@noble/hashes/': '/node_modules/@noble/hashes/',
    'shamir-secret-sharing': '/node_modules/shamir-secret-sharing/esm/index.js',
    'shamir-secret-sharing/csprng': '/node_modules/shamir-secret-sharing/esm/csprng.js',
  },
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>@provisions/crypto benchmark</title>
<script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>
<script src="/node_modules/tweetnacl/nacl-fast.js"></script>
<script type="module" src="/bench/browser-page.mjs"></script>
`;

/** Answers a request of the page from the package directory: dist, bench and node_modules. */
async function answer(route) {
  const path = new URL(route.request().url()).pathname;
  if (path === '/') {
    await route.fulfill({ contentType: 'text/html', body: PAGE });
    return;
  }

  const file = normalize(join(PACKAGE_DIR, path));
  const served = ['dist', 'bench', 'node_modules'].some((folder) =>
    file.startsWith(join(PACKAGE_DIR, folder) + sep),
  );
  if (!served || (!file.endsWith('.js') && !file.endsWith('.mjs'))) {
    await route.fulfill({ status: 404, body: 'not found' });
    return;
  }
  try {
    await route.fulfill({ contentType: 'text/javascript', body: await readFile(file) });
  } catch {
    await route.fulfill({ status: 404, body: 'not found' });
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  page.on('console', (message) => process.stderr.write(`${message.text()}\n`));
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
  await page.route(`${ORIGIN}/**`, answer);
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => typeof globalThis.runBenchmark === 'function');

  const userAgent = await page.evaluate(() => navigator.userAgent);
  const results = new Map(
    await page.evaluate((options) => globalThis.runBenchmark(options), {
      rounds: ROUNDS,
      ms: MEASURE_MS,
      verbose: Boolean(process.env.BENCH_VERBOSE),
    }),
  );

  const native = results.get('ours, WebCrypto X25519');
  const pure = results.get('ours, noble X25519');
  const tweetnacl = results.get('tweetnacl 1.0.3');
  const browserVersion = userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? userAgent;
  const lines = [
    `Chromium ${browserVersion}, ${coreDescription()}, ${new Date().toISOString().slice(0, 10)}, 32-byte plaintext, best of ${ROUNDS} rounds, operations per second (higher is better):`,
    '',
    ...resultLines(results),
    '',
    ...targetLines([
      ['seal + open, WebCrypto ÷ tweetnacl', native.roundTrip / tweetnacl.roundTrip, 8, '×'],
      ['seal + open, noble ÷ tweetnacl', pure.roundTrip / tweetnacl.roundTrip, 0.7, '×'],
      ['createProvision, WebCrypto, per second', native.createProvision, 3000, '/s'],
    ]),
  ];
  console.log(lines.join('\n'));
} finally {
  await browser.close();
}
