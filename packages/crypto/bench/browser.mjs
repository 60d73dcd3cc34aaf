// Measures seal, open, key generation, provision creation and share recovery in Debian's
// Chromium, driven by playwright-core: this package on its WebCrypto and noble backends
// against tweetnacl, in one page. The page is served from memory on an address that
// nothing listens on (Playwright fulfills every request), which counts as a secure
// context, so WebCrypto is available. Build the package first (dist/).
//
// Usage: node bench/browser.mjs. BENCH_MS, BENCH_ROUNDS, BENCH_VERBOSE and BENCH_CPU
// work as for bench.mjs; CHROMIUM_PATH overrides /usr/bin/chromium.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import {
  coreDescription,
  exitWithUsage,
  pinToOneCore,
  requireBuild,
  verboseFromEnv,
  wholeNumberFromEnv,
} from './run-options.mjs';
import { resultLines, roundTripTargets, targetLines } from './shared.mjs';

requireBuild();
await pinToOneCore(fileURLToPath(import.meta.url));

const MEASURE_MS = wholeNumberFromEnv('BENCH_MS', {
  fallback: 500,
  max: 60_000,
  unit: 'milliseconds',
});
const ROUNDS = wholeNumberFromEnv('BENCH_ROUNDS', { fallback: 3, max: 100, unit: 'rounds' });
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

/** Serves a request of the page from the package directory: dist, bench and node_modules. */
async function serveFile(route) {
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

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  exitWithUsage(
    `no Chromium at ${chromiumPath}: install Debian's chromium package, or set CHROMIUM_PATH to a Chromium executable`,
  );
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  await measureInChromium(browser);
} catch (error) {
  // Playwright's messages carry a call log after the first line, which is enough on its own.
  const summary = String(error instanceof Error ? error.message : error).split('\n')[0];
  process.stderr.write(`the Chromium benchmark stopped: ${summary}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

async function measureInChromium(browser) {
  const page = await browser.newPage();
  page.on('console', (message) => process.stderr.write(`${message.text()}\n`));
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
  await page.route(`${ORIGIN}/**`, serveFile);
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => typeof globalThis.runBenchmark === 'function');

  const userAgent = await page.evaluate(() => navigator.userAgent);
  const results = new Map(
    await page.evaluate((options) => globalThis.runBenchmark(options), {
      rounds: ROUNDS,
      ms: MEASURE_MS,
      verbose: verboseFromEnv(),
    }),
  );

  const native = results.get('ours, WebCrypto X25519');
  const pure = results.get('ours, noble X25519');
  const tweetnacl = results.get('tweetnacl 1.0.3');
  const browserVersion = userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? userAgent;
  const lines = [
    `Chromium ${browserVersion}, ${coreDescription()}, ${new Date().toISOString().slice(0, 10)}, 32-byte plaintext, best of ${ROUNDS === 1 ? '1 round' : `${ROUNDS} rounds`}, operations per second (higher is better):`,
    '',
    ...resultLines(results),
    '',
    ...targetLines([
      ...roundTripTargets('WebCrypto', native, 'tweetnacl', tweetnacl, 8),
      ...roundTripTargets('noble', pure, 'tweetnacl', tweetnacl, 0.7),
      ['createProvision, WebCrypto, per second', native.createProvision, 3000, '/s'],
    ]),
  ];
  console.log(lines.join('\n'));
}
