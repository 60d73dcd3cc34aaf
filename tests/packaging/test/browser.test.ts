import { copyFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';

/** Debian's Chromium; Playwright cannot download its own browsers here. */
const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Serves one HTML page and one script on 127.0.0.1, which browsers treat as a secure context. */
async function servePage(script: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.url === '/bundle.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      response.end(script);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(
      '<!doctype html><title>provisions</title><script type="module" src="/bundle.js"></script>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return { server, url: `http://127.0.0.1:${port}/` };
}

describe('installed libraries in a browser', () => {
  let server: Server | undefined;

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('esbuild bundle runs a round trip in Chromium', async () => {
    const project = inject('libraryProject');
    const entry = join(project, 'browser-entry.js');
    await copyFile(new URL('../fixtures/browser-entry.js', import.meta.url), entry);

    // platform "browser" makes any node: import a build error.
    const bundle = await build({
      entryPoints: [entry],
      absWorkingDir: project,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    const page = await servePage(script);
    server = page.server;

    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    try {
      const tab = await browser.newPage();
      const roundTrip = tab.waitForEvent('console', {
        predicate: (message) => message.text().startsWith('round trip'),
      });
      await tab.goto(page.url);
      const output = (await roundTrip).text();

      expect(output).toMatch(/^round trip: /);
      const result = JSON.parse(output.slice('round trip: '.length));
      expect(result.openedMatches).toBe(true);
      expect(result.sealedLength).toBe(32 + 48);
      expect(result.email).toBe('ada@example.com');
    } finally {
      await browser.close();
    }
  });
});
