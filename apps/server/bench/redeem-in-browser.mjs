// Measures how long the recipient page takes to open an invitation to 1,000 boxes in
// Chromium, from submitting the sign-in code to the list of boxes on screen. That
// covers sign-in and the key rebuild, then per box: open the invitation, fetch the
// box, join it, fetch and decrypt its message. Build the package first.
//
// Usage: node bench/redeem-in-browser.mjs [box count]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectOrganization, MemoryKeystore, sendBoxes } from '@provisions/core';
import { chromium } from 'playwright-core';
import { createOrganization, OUTBOX_FILE_NAME, startServer } from '../dist/index.js';

const BOX_COUNT = Number(process.argv[2] ?? 1000);
const RECIPIENT = 'bench@example.org';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const dataDir = await mkdtemp(join(tmpdir(), 'provisions-bench-'));
const server = await startServer({ dataDir, port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });

try {
  const credentials = await createOrganization({ dataDir, name: 'Bench' });
  const organization = await connectOrganization({
    baseUrl: server.url,
    clientId: credentials.id,
    clientSecret: credentials.client_secret,
  });

  const setupStart = performance.now();
  const boxes = Array.from({ length: BOX_COUNT }, (_, index) => ({
    title: `Box ${index + 1}`,
    messages: [`Message of box ${index + 1}`],
  }));
  const { link } = await sendBoxes({
    organization,
    keystore: new MemoryKeystore(),
    appUrl: server.url,
    recipient: RECIPIENT,
    boxes,
  });
  const setupSeconds = (performance.now() - setupStart) / 1000;
  process.stderr.write(`sent ${BOX_COUNT} boxes in ${setupSeconds.toFixed(1)} s\n`);

  const page = await browser.newPage();
  await page.goto(link);
  await page.getByLabel('Email address').fill(RECIPIENT);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await page.getByLabel('Sign-in code').waitFor();

  const outbox = await readFile(join(dataDir, OUTBOX_FILE_NAME), 'utf8');
  const code = JSON.parse(outbox.trim().split('\n').at(-1)).code;
  await page.getByLabel('Sign-in code').fill(code);

  // Resource timing keeps 250 entries by default; every API request is needed here.
  await page.evaluate(() => {
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(100_000);
  });

  const start = performance.now();
  await page.getByRole('button', { name: 'Sign in and open' }).click();
  await page.locator('main h1', { hasText: /^Your boxes$/ }).waitFor({ timeout: 600_000 });
  const seconds = (performance.now() - start) / 1000;

  const shownBoxes = await page.locator('li.box').count();
  if (shownBoxes !== BOX_COUNT) {
    throw new Error(`the page shows ${shownBoxes} boxes, expected ${BOX_COUNT}`);
  }

  // Time with at least one API request in flight (the union of the requests'
  // intervals, since they may overlap). The rest of the time is work in the page.
  const intervals = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((entry) => [entry.startTime, entry.responseEnd])
      .sort((a, b) => a[0] - b[0]),
  );
  let waitingMs = 0;
  let coveredUntil = 0;
  for (const [startTime, endTime] of intervals) {
    const from = Math.max(startTime, coveredUntil);
    if (endTime > from) {
      waitingMs += endTime - from;
      coveredUntil = endTime;
    }
  }
  const waitingSeconds = waitingMs / 1000;
  process.stderr.write(
    `${intervals.length} API requests, ${waitingSeconds.toFixed(2)} s with a request in flight, ` +
      `${(seconds - waitingSeconds).toFixed(2)} s without\n`,
  );

  const browserVersion = browser.version();
  process.stdout.write(
    `redeemed ${BOX_COUNT} boxes in Chromium ${browserVersion}: ${seconds.toFixed(2)} s ` +
      `(${((seconds * 1000) / BOX_COUNT).toFixed(2)} ms per box; ${cpus().length} cores, ` +
      `${cpus()[0]?.model ?? 'unknown CPU'})\n`,
  );
} finally {
  await browser.close();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
