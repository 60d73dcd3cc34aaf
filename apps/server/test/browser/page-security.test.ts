import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openPage, openPageWithProfile, useRecipientHarness } from './support/recipient-harness.js';
import { submitCode, submitEmail, waitForHeading } from './support/recipient-steps.js';
import { shareEncodings } from './support/traffic.js';

const fixture = useRecipientHarness();

// A well-formed share (44 base64url characters) that belongs to no provision.
const SHARE = 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh';

/** Opens the page with a valid-looking link and waits for its first step. */
async function openJoinPage(): Promise<{ page: Page; close: () => Promise<void> }> {
  const { context, page } = await openPage(fixture.browser);
  await page.goto(`${fixture.harness.url}/join#provision:${SHARE}`);
  await waitForHeading(page, 'Open your boxes');
  return { page, close: () => context.close() };
}

/**
 * Another origin on the loopback interface: the server listens on 127.0.0.1, and
 * `localhost` is a different origin to the browser. Tests fulfil its requests with
 * `page.route`, so none reaches the network.
 */
function otherOrigin(): string {
  return fixture.harness.url.replace('127.0.0.1', 'localhost');
}

describe('recipient page Content-Security-Policy in Chromium', () => {
  it('runs no script injected into the markup', async () => {
    const { context, page } = await openPage(fixture.browser);
    // The server's own response and headers, with markup added to the body as an
    // HTML injection would add it.
    await page.route(`${fixture.harness.url}/join`, async (route) => {
      const response = await route.fetch();
      const injected = [
        '<script>document.documentElement.dataset.inline = "ran";</script>',
        '<img src="/missing.png" onerror="document.documentElement.dataset.handler = \'ran\'">',
        '<a id="injected-link" href="javascript:document.documentElement.dataset.link = \'ran\'">x</a>',
      ].join('');
      const body = (await response.text()).replace('<body>', `<body>${injected}`);
      await route.fulfill({ response, body });
    });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) {
        violations.push(message.text());
      }
    });
    await page.goto(`${fixture.harness.url}/join#provision:${SHARE}`);
    await waitForHeading(page, 'Open your boxes');
    await page.locator('#injected-link').click();

    const ran = await page.evaluate(() => ({ ...document.documentElement.dataset }));
    expect(ran).toEqual({});
    expect(violations.length).toBeGreaterThanOrEqual(3);
    await context.close();
  });

  it('blocks eval and the Function constructor', async () => {
    const { page, close } = await openJoinPage();
    // DevTools evaluations may call eval even where the policy blocks it, so the checks run
    // later, from a timer of the page.
    const errors = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          setTimeout(() => {
            const names: string[] = [];
            try {
              // biome-ignore lint/security/noGlobalEval: the test checks that the policy blocks eval.
              eval('1 + 1');
            } catch (error) {
              names.push((error as Error).name);
            }
            try {
              new Function('return 1')();
            } catch (error) {
              names.push((error as Error).name);
            }
            resolve(names);
          }, 0);
        }),
    );

    expect(errors).toEqual(['EvalError', 'EvalError']);
    await close();
  });

  it('sends no request to another origin', async () => {
    const { page, close } = await openJoinPage();
    const otherRequests: string[] = [];
    await page.route(`${otherOrigin()}/**`, async (route) => {
      otherRequests.push(route.request().url());
      await route.fulfill({ status: 204 });
    });
    await page.evaluate(async (origin) => {
      const image = document.createElement('img');
      image.src = `${origin}/pixel.gif`;
      document.body.append(image);
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = `${origin}/style.css`;
      document.head.append(style);
      await fetch(`${origin}/beacon`).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }, otherOrigin());

    expect(otherRequests).toEqual([]);
    await close();
  });

  it('blocks framing by another origin', async () => {
    // A page on another loopback port frames the recipient page. It is served by a
    // real server, because Chromium blocks a frame of a local address inside a page
    // that Playwright fulfils, regardless of the framed page's headers.
    const framing = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(
        `<!doctype html><iframe src="${fixture.harness.url}/join#provision:${SHARE}"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => framing.listen(0, '127.0.0.1', resolve));
    const { port } = framing.address() as AddressInfo;
    const { context, page } = await openPage(fixture.browser);
    const failures: string[] = [];
    page.on('requestfailed', (request) => {
      failures.push(`${new URL(request.url()).pathname} ${request.failure()?.errorText}`);
    });

    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForLoadState('load');
      const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
      expect(frame?.url()).toBe('chrome-error://chromewebdata/');
      expect(failures).toEqual(['/join net::ERR_BLOCKED_BY_RESPONSE']);
    } finally {
      await context.close();
      framing.closeAllConnections();
      await new Promise((resolve) => framing.close(resolve));
    }
  });

  it('rejects HTML strings in DOM sinks', async () => {
    const { page, close } = await openJoinPage();
    // Trusted Types stop a string from reaching innerHTML, so a title or message that
    // a future change passed there would throw instead of becoming markup.
    const outcome = await page.evaluate(() => {
      const target = document.createElement('div');
      try {
        target.innerHTML = '<img src="x">';
        return 'assigned';
      } catch (error) {
        return (error as Error).name;
      }
    });

    expect(outcome).toBe('TypeError');
    await close();
  });

  it('denies powerful browser features', async () => {
    const { page, close } = await openJoinPage();
    const allowed = await page.evaluate(() => {
      // Chromium's Permissions Policy API; not in the DOM type library.
      const policy = (
        document as unknown as { featurePolicy: { allowsFeature(name: string): boolean } }
      ).featurePolicy;
      return ['camera', 'microphone', 'geolocation', 'payment', 'usb'].filter((feature) =>
        policy.allowsFeature(feature),
      );
    });

    expect(allowed).toEqual([]);
    await close();
  });
});

describe('recipient page secrets in Chromium', () => {
  it('keeps the share out of the console and caches', async () => {
    const email = 'cache@example.org';
    const { link } = await fixture.harness.invite(email, [{ title: 'Note', messages: ['Hi'] }]);
    if (link === undefined) {
      throw new Error('sendBoxes returned no link');
    }
    const { context, page } = await openPage(fixture.browser);
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    // Responses to requests with a token, and the one that returns the token.
    const secretResponses: { path: string; cacheControl: string | undefined }[] = [];
    page.on('response', async (response) => {
      const path = new URL(response.url()).pathname;
      const authorization = await response.request().headerValue('authorization');
      if (authorization !== null || path === '/auth/sessions') {
        const cacheControl = (await response.allHeaders())['cache-control'];
        secretResponses.push({ path, cacheControl });
      }
    });

    await page.goto(link);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');

    // The server's key share and the sealed box keys come in these responses, so no
    // browser cache may keep them.
    const paths = secretResponses.map((response) => response.path);
    expect(paths).toContain('/auth/sessions');
    expect(paths).toContain('/crypto/provisions');
    expect(paths).toContain('/crypto/actions');
    expect(paths).toContain('/boxes/joins');
    for (const response of secretResponses) {
      expect(response.cacheControl, response.path).toBe('no-store');
    }
    const secrets = shareEncodings(link);
    expect(consoleLines.filter((line) => secrets.some((secret) => line.includes(secret)))).toEqual(
      [],
    );
    await context.close();
  });

  it('warns that the browser history keeps the link', async () => {
    const { link } = await fixture.harness.invite('history@example.org', [
      { title: 'Note', messages: ['Hi'] },
    ]);
    if (link === undefined) {
      throw new Error('sendBoxes returned no link');
    }
    const { page, profile, close } = await openPageWithProfile();
    try {
      await page.goto(link);
      await waitForHeading(page, 'Open your boxes');
      expect(page.url()).toBe(`${fixture.harness.url}/join`);
      // biome-ignore lint/performance/useDomNodeTextContent: innerText is the rendered text a person reads.
      const note = await page.locator('.note').innerText();
      await page.context().close();

      // The browser records the address it opens before any script of the page runs, so
      // removing the fragment leaves the link in the history database of the profile.
      const history = await readFile(join(profile, 'Default', 'History'));
      expect(history.includes(link)).toBe(true);
      expect(note).toContain('never sent to the server');
      expect(note).toContain('history');
      expect(note).toContain('private window');
    } finally {
      await close();
    }
  });
});
