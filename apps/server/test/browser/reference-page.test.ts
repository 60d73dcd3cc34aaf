import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REFERENCE_PAGE_PATH,
  type ReferencePageHashes,
  referencePagePolicy,
} from '../../src/http/reference-page.js';
import { startServer } from '../../src/index.js';
import { launchChromium, saveScreenshot } from './support/recipient-harness.js';

let browser: Browser;
let dataDir: string;
let url: string;
let closeServer: () => Promise<void>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-reference-'));
  const server = await startServer({ dataDir, port: 0 });
  url = server.url;
  closeServer = server.close;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await closeServer?.();
  await rm(dataDir, { recursive: true, force: true });
});

async function readPackageJson<T>(specifier: string): Promise<T> {
  return JSON.parse(await readFile(fileURLToPath(import.meta.resolve(specifier)), 'utf8')) as T;
}

/** An operation of the API description. */
interface Operation {
  method: string;
  path: string;
  summary: string;
}

/** Returns every operation in the API description. */
async function describedOperations(): Promise<Operation[]> {
  const document = await readPackageJson<{
    paths: Record<string, Record<string, { summary: string }>>;
  }>('@provisions/openapi/openapi.json');
  const operations: Operation[] = [];
  for (const [path, pathItem] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(pathItem)) {
      operations.push({ method: method.toUpperCase(), path, summary: operation.summary });
    }
  }
  return operations;
}

describe('GET /docs', () => {
  it('sends the page with a hash-only policy', async () => {
    const hashes = await readPackageJson<ReferencePageHashes>(
      '@provisions/openapi/reference-csp.json',
    );

    const response = await fetch(`${url}${REFERENCE_PAGE_PATH}`);
    const policy = response.headers.get('content-security-policy') ?? '';

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(policy).toBe(referencePagePolicy(hashes));
    expect(policy).not.toContain("'unsafe-inline'");
    expect(policy).not.toContain("'unsafe-eval'");
    expect(policy).not.toMatch(/https?:|\*/);
    expect(hashes['script-src'].length).toBeGreaterThan(0);
    expect(await response.text()).toContain('<div id="redoc">');
  });

  it('renders every operation offline', async () => {
    const operations = await describedOperations();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      requests.push(request.url());
    });
    // Anything for another origin is recorded above and then dropped.
    await page.route(
      (target) => !target.href.startsWith(`${url}/`),
      (route) => route.abort(),
    );
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') {
        problems.push(message.text());
      }
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.effectiveDirective} ${event.blockedURI}`);
      });
    });

    await page.goto(`${url}${REFERENCE_PAGE_PATH}`);
    await page
      .getByRole('heading', { name: /Crypto provisions API/ })
      .first()
      .waitFor();
    await page.waitForLoadState('networkidle');
    await saveScreenshot(page, 'api-reference');
    // Redoc renders the sections below the first screen when the page scrolls to them.
    await page.mouse.wheel(0, 100_000);
    const readOverview = () =>
      // biome-ignore lint/performance/useDomNodeTextContent: innerText separates the rendered blocks by line.
      page.evaluate(() => document.body.innerText);
    const missingFrom = (overview: string) =>
      operations
        .map(({ method, path }) => `${method}\n${path}\n`)
        .filter((entry) => !overview.includes(entry));
    await expect
      .poll(async () => missingFrom(await readOverview()), { timeout: 10_000 })
      .toEqual([]);
    const overview = await readOverview();

    expect(operations.length).toBeGreaterThan(0);
    for (const { method, path } of operations) {
      expect(overview).toContain(`${method}\n${path}\n`);
    }

    // Each operation has its own view; open one from the overview.
    const redeem = operations.find((operation) => operation.path === '/crypto/provisions');
    await page
      .getByRole('link', { name: /\/crypto\/provisions$/ })
      .first()
      .click();
    await page.getByRole('heading', { name: redeem?.summary }).waitFor();
    await page.waitForLoadState('networkidle');

    // NOTE: Redoc 3.0's search index first tries to build a web worker with
    // Function(), which the policy blocks, and then indexes in the page. That one
    // report is expected; the search must still work without the worker.
    const revoke = operations.find(
      (operation) => operation.method === 'DELETE' && operation.path.includes('provisions'),
    );
    const revokePath = page.getByText(revoke?.path ?? '', { exact: true });
    const pathsBeforeSearch = await revokePath.count();
    await page.getByTestId('search-trigger').getByText('Ctrl+K').waitFor();
    await page.getByTestId('search-trigger').click();
    await page.getByPlaceholder('Search docs').fill('revoke');
    await expect
      .poll(() => revokePath.count(), { timeout: 30_000 })
      .toBeGreaterThan(pathsBeforeSearch);
    expect(problems).toEqual(['CSP violation: script-src eval']);

    const elsewhere = requests.filter(
      (requested) => !requested.startsWith(`${url}/`) && !requested.startsWith('data:'),
    );
    expect(elsewhere).toEqual([]);
    await context.close();
  });
});
