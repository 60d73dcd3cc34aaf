import { describe, expect, it } from 'vitest';
import {
  RECIPIENT_PAGE_CSP,
  RECIPIENT_PAGE_PERMISSIONS_POLICY,
} from '../../src/http/recipient-page.js';
import {
  openPage,
  openPageWithStorageBlocked,
  PHONE_VIEWPORT,
  saveScreenshot,
  useRecipientHarness,
} from './support/recipient-harness.js';
import { mainText, submitCode, submitEmail, waitForHeading } from './support/recipient-steps.js';
import { findLeaks, shareEncodings, TrafficRecorder } from './support/traffic.js';

const fixture = useRecipientHarness();

const THREE_BOXES = [
  { title: 'Employment contract', messages: ['Your contract is signed.', 'Welcome aboard!'] },
  { title: 'Payslip March', messages: ['Net pay: 2 140,00 €'] },
  { title: 'Medical certificate', messages: ['Fit for work.\nNo restrictions.', 'Valid 1 year.'] },
];

describe('recipient page', () => {
  it('opens three boxes with the keyboard only', async () => {
    const email = 'grace@example.org';
    const { link } = await fixture.harness.invite(email, THREE_BOXES);
    if (link === undefined) {
      throw new Error('sendBoxes returned no link');
    }
    const { context, page } = await openPage(fixture.browser);
    const traffic = new TrafficRecorder(page);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') {
        problems.push(message.text());
      }
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(link);
    await waitForHeading(page, 'Open your boxes');
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    await saveScreenshot(page, 'email-step');

    await page.waitForLoadState('networkidle');
    const beforeActing = await traffic.requests();
    const pathsBeforeActing = beforeActing.map((request) => new URL(request.url).pathname);
    expect(pathsBeforeActing[0]).toBe('/join');
    for (const path of pathsBeforeActing) {
      expect(path).toMatch(/^\/(join|assets\/[A-Za-z0-9_-]+\.(js|css|svg))$/);
    }
    expect(beforeActing.every((request) => request.method === 'GET')).toBe(true);

    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await page.keyboard.type(email);
    await page.keyboard.press('Enter');
    await waitForHeading(page, 'Check your email');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('code');
    await saveScreenshot(page, 'code-step');

    await page.keyboard.type(await fixture.harness.latestCode(email));
    await page.keyboard.press('Enter');
    await waitForHeading(page, 'Your boxes');
    await saveScreenshot(page, 'boxes');

    const text = await mainText(page);
    expect(text).toContain('3 boxes');
    for (const box of THREE_BOXES) {
      expect(await page.getByRole('heading', { level: 2, name: box.title }).count()).toBe(1);
      for (const message of box.messages) {
        expect(text).toContain(message.replace(/\s+/g, ' '));
      }
    }
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(pageWidth).toBeLessThanOrEqual(PHONE_VIEWPORT.width);

    const requests = await traffic.requests();
    const paths = requests.map((request) => new URL(request.url).pathname);
    expect(paths).toContain('/auth/email-codes');
    expect(paths).toContain('/auth/sessions');
    expect(paths).toContain('/crypto/provisions');
    expect(findLeaks(requests, shareEncodings(link))).toEqual([]);
    const otherOrigins = requests.filter(
      (request) => !request.url.startsWith(`${fixture.harness.url}/`),
    );
    expect(otherOrigins).toEqual([]);
    expect(problems).toEqual([]);

    // The link's history entry was replaced, so going back skips it.
    await page.goBack();
    expect(page.url()).toBe('about:blank');
    await context.close();
  });

  it('keeps the link across a reload before the code', async () => {
    const email = 'ada@example.org';
    const { link } = await fixture.harness.invite(email, [
      { title: 'Notes', messages: ['Hello Ada'] },
    ]);
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link ?? '');
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');

    await page.reload();
    await waitForHeading(page, 'Check your email');
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    expect(await mainText(page)).not.toContain('a reload loses your link');

    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Hello Ada');
    await context.close();
  });

  it('asks for a new code after a reload at the boxes', async () => {
    const email = 'again@example.org';
    const { link } = await fixture.harness.invite(email, [
      { title: 'Notes', messages: ['Read twice'] },
    ]);
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link ?? '');
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');

    // The token is in memory only and the code is spent, so the page starts at the email
    // step, with the link and the address kept.
    await page.reload();
    await waitForHeading(page, 'Open your boxes');
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    expect(await page.getByLabel('Email address').inputValue()).toBe(email);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Read twice');
    await context.close();
  });

  it('starts over with a link opened in the same tab', async () => {
    const first = await fixture.harness.invite('ana@example.org', [
      { title: 'Memo', messages: ['For Ana'] },
    ]);
    const second = await fixture.harness.invite('ben@example.org', [
      { title: 'Memo', messages: ['For Ben'] },
    ]);
    if (first.link === undefined || second.link === undefined) {
      throw new Error('sendBoxes returned no link');
    }
    const { context, page } = await openPage(fixture.browser);
    await page.goto(first.link);
    await submitEmail(page, 'ana@example.org');
    await waitForHeading(page, 'Check your email');

    // Only the fragment differs from the address shown, so the page is not loaded again.
    await page.goto(second.link);
    await waitForHeading(page, 'Open your boxes');
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    expect(await page.getByLabel('Email address').inputValue()).toBe('');
    const stored = await page.evaluate(
      () => JSON.parse(sessionStorage.getItem('provisions.join') ?? '{}') as { share?: string },
    );
    expect(stored).toEqual({ share: second.link.split('#provision:')[1] });

    await submitEmail(page, 'ben@example.org');
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode('ben@example.org'));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('For Ben');

    // Both links' history entries were replaced by /join.
    await page.goBack();
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    await page.goBack();
    expect(page.url()).toBe('about:blank');
    await context.close();
  });

  it('drops a sign-in that ends after a new link', async () => {
    const first = await fixture.harness.invite('cy@example.org', [
      { title: 'Memo', messages: ['For Cy'] },
    ]);
    const second = await fixture.harness.invite('di@example.org', [
      { title: 'Memo', messages: ['For Di'] },
    ]);
    if (first.link === undefined || second.link === undefined) {
      throw new Error('sendBoxes returned no link');
    }
    const { context, page } = await openPage(fixture.browser);
    let redemptions = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/crypto/provisions') {
        redemptions += 1;
      }
    });
    await page.goto(first.link);
    await submitEmail(page, 'cy@example.org');
    await waitForHeading(page, 'Check your email');

    // The first sign-in gets its response only after the second link has opened.
    let releaseSignIn = () => {};
    const released = new Promise<void>((resolve) => {
      releaseSignIn = resolve;
    });
    await page.route(
      '**/auth/sessions',
      async (route) => {
        await released;
        await route.continue();
      },
      { times: 1 },
    );
    const firstSignIn = page.waitForResponse('**/auth/sessions');
    await submitCode(page, await fixture.harness.latestCode('cy@example.org'));
    await waitForHeading(page, 'Signing in');
    await page.goto(second.link);
    await waitForHeading(page, 'Open your boxes');
    releaseSignIn();
    expect((await firstSignIn).status()).toBe(201);

    await submitEmail(page, 'di@example.org');
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode('di@example.org'));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('For Di');
    expect(redemptions).toBe(1);
    await context.close();
  });

  it('marks the page busy while a request runs', async () => {
    const email = 'kai@example.org';
    const { link } = await fixture.harness.invite(email, [{ title: 'Plan', messages: ['Draft'] }]);
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link ?? '');
    await waitForHeading(page, 'Open your boxes');

    let releaseRequest = () => {};
    const released = new Promise<void>((resolve) => {
      releaseRequest = resolve;
    });
    await page.route('**/auth/email-codes', async (route) => {
      await released;
      await route.continue();
    });

    // Screen readers announce changes of a live region that was in the page before.
    const status = page.getByRole('status');
    expect(await status.count()).toBe(1);
    await status.evaluate((region) => region.setAttribute('data-before-request', ''));
    await submitEmail(page, email);
    await waitForHeading(page, 'Sending a code');

    expect(await page.locator('main').getAttribute('aria-busy')).toBe('true');
    expect(await status.getAttribute('data-before-request')).toBe('');
    expect(await status.textContent()).toBe(`Sending a sign-in code to ${email}…`);
    expect(await status.evaluate((region) => region.closest('[aria-busy]'))).toBeNull();

    releaseRequest();
    await waitForHeading(page, 'Check your email');
    expect(await page.locator('main').getAttribute('aria-busy')).toBeNull();
    expect(await status.textContent()).toBe('');
    await context.close();
  });

  it('explains a script that did not load', async () => {
    const { link } = await fixture.harness.invite('mo@example.org', [
      { title: 'Form', messages: ['Filled'] },
    ]);
    const { context, page } = await openPage(fixture.browser);
    await page.route('**/assets/join-*.js', (route) => route.abort('connectionrefused'));
    await page.goto(link ?? '');
    await page.waitForLoadState('load');

    const text = await mainText(page);
    expect(text).toContain('If this text stays, its script did not run');
    expect(text).toContain('reload the page');
    await saveScreenshot(page, 'script-missing');

    // The script that removes the link's key from the address never ran, so the key is
    // still there. A reload with the script reads it as a first load does.
    await page.unrouteAll();
    await page.reload();
    await waitForHeading(page, 'Open your boxes');
    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    expect(await mainText(page)).not.toContain('If this text stays');
    await context.close();
  });

  it('works when the browser blocks storage', async () => {
    const email = 'no-storage@example.org';
    const { link } = await fixture.harness.invite(email, [
      { title: 'Private', messages: ['Opened without storage'] },
    ]);
    const { page, close } = await openPageWithStorageBlocked();
    try {
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      const storageError = await page.evaluate(() => {
        try {
          return String(sessionStorage.length);
        } catch (error) {
          return (error as Error).name;
        }
      });
      expect(storageError).toBe('SecurityError');

      await page.goto(link ?? '');
      await waitForHeading(page, 'Open your boxes');
      expect(page.url()).toBe(`${fixture.harness.url}/join`);
      expect(await mainText(page)).toContain('a reload loses your link');
      await submitEmail(page, email);
      await waitForHeading(page, 'Check your email');
      expect(await mainText(page)).toContain('a reload loses your link');
      await submitCode(page, await fixture.harness.latestCode(email));
      await waitForHeading(page, 'Your boxes');
      expect(await mainText(page)).toContain('Opened without storage');
      expect(problems).toEqual([]);

      // Nothing kept the link, so a reload explains how to get it back.
      await page.reload();
      await waitForHeading(page, 'The key part of your link is missing');
      expect(await mainText(page)).toContain('Open the invitation email again');
    } finally {
      await close();
    }
  });

  it('stores no token and only this tab’s progress', async () => {
    const email = 'lin@example.org';
    const { link } = await fixture.harness.invite(email, [
      { title: 'Lease', messages: ['Signed'] },
    ]);
    const { context, page } = await openPage(fixture.browser);
    const traffic = new TrafficRecorder(page);
    await page.goto(link ?? '');
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');

    const storage = await page.evaluate(() => ({
      local: localStorage.length,
      session: Object.keys(sessionStorage),
      progress: JSON.parse(sessionStorage.getItem('provisions.join') ?? '{}') as object,
    }));
    expect(storage.local).toBe(0);
    expect(storage.session).toEqual(['provisions.join']);
    expect(Object.keys(storage.progress).sort()).toEqual(['email', 'share']);
    const otherStores = await page.evaluate(async () => ({
      databases: await indexedDB.databases(),
      caches: await caches.keys(),
    }));
    expect(otherStores).toEqual({ databases: [], caches: [] });
    expect(await context.cookies()).toEqual([]);

    const authorization = (await traffic.requests())
      .map((request) => request.headers.authorization)
      .find((value) => value !== undefined);
    expect(authorization).toMatch(/^Bearer /);
    const token = authorization?.slice('Bearer '.length) ?? '';
    expect(JSON.stringify(storage)).not.toContain(token);
    await context.close();
  });
});

describe('share leak check', () => {
  it('finds every encoding of a planted share', () => {
    const link = 'http://127.0.0.1:1/join#provision:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh';
    const encodings = shareEncodings(link);
    expect(encodings).toContain('AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh');
    expect(encodings).toContain(
      '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021',
    );

    for (const [index, encoding] of encodings.entries()) {
      const planted = [
        { method: 'GET', url: `http://127.0.0.1:1/x?q=${encoding}`, headers: {}, body: '' },
        { method: 'POST', url: 'http://127.0.0.1:1/x', headers: { 'x-a': encoding }, body: '' },
        { method: 'POST', url: 'http://127.0.0.1:1/x', headers: {}, body: `{"a":"${encoding}"}` },
      ];
      for (const request of planted) {
        expect(findLeaks([request], encodings).length, `encoding ${index}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('recipient page responses', () => {
  it('sends the page with security headers', async () => {
    const response = await fetch(`${fixture.harness.url}/join`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
        "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; " +
        "require-trusted-types-for 'script'; trusted-types 'none'",
    );
    expect(RECIPIENT_PAGE_CSP).toBe(response.headers.get('content-security-policy'));
    expect(response.headers.get('permissions-policy')).toBe(RECIPIENT_PAGE_PERMISSIONS_POLICY);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');

    const html = await response.text();
    expect(html).toContain('<html lang="en">');
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/"\/assets\/([^"]+)"/g)].map((match) => match[1]);
    expect(assets).toHaveLength(3);

    for (const name of assets) {
      const asset = await fetch(`${fixture.harness.url}/assets/${name}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(
        /^(text\/(javascript|css); charset=utf-8|image\/svg\+xml)$/,
      );
      expect(asset.headers.get('content-security-policy')).toBe(RECIPIENT_PAGE_CSP);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      expect(asset.headers.get('cache-control')).toContain('immutable');
    }
  });

  it('answers 404 for an unknown asset', async () => {
    const response = await fetch(`${fixture.harness.url}/assets/missing-ABC.js`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
