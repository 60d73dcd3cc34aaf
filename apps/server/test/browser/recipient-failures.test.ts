import { revokeProvision } from '@provisions/core';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openPage, saveScreenshot, useRecipientHarness } from './support/recipient-harness.js';
import { mainText, submitCode, submitEmail, waitForHeading } from './support/recipient-steps.js';

const fixture = useRecipientHarness();

const NOT_FOR_THIS_ADDRESS = 'This link does not open anything for this address';

async function inviteOne(email: string, title: string, message: string): Promise<string> {
  const result = await fixture.harness.invite(email, [{ title, messages: [message] }]);
  if (result.link === undefined) {
    throw new Error(`sendBoxes returned no link for ${email}`);
  }
  return result.link;
}

/** Invites `email` to one box and opens the link on a new page. */
async function openInvitation(
  email: string,
  title: string,
  message: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const link = await inviteOne(email, title, message);
  const opened = await openPage(fixture.browser);
  await opened.page.goto(link);
  return opened;
}

/** Opens an invitation for `email` and requests a code, which leaves the page at the code step. */
async function openAtCodeStep(
  email: string,
  title: string,
  message: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const opened = await openInvitation(email, title, message);
  await submitEmail(opened.page, email);
  await waitForHeading(opened.page, 'Check your email');
  return opened;
}

/** Returns a 6-digit code that differs from `code`. */
function wrongCodeFor(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

/** Clicks "Send a new code", checks that one more code was emailed, and signs in with it. */
async function signInWithNewCode(page: Page, email: string, boxText: string): Promise<void> {
  const codesBefore = await fixture.harness.codeCount(email);
  await page.getByRole('button', { name: 'Send a new code' }).click();
  await waitForHeading(page, 'Check your email');
  expect(await fixture.harness.codeCount(email)).toBe(codesBefore + 1);

  await submitCode(page, await fixture.harness.latestCode(email));
  await waitForHeading(page, 'Your boxes');
  expect(await mainText(page)).toContain(boxText);
}

async function signInOnPage(page: Page, email: string): Promise<void> {
  await submitEmail(page, email);
  await waitForHeading(page, 'Check your email');
  await submitCode(page, await fixture.harness.latestCode(email));
}

describe('recipient page failures', () => {
  it('rejects a wrong code, then accepts the right one', async () => {
    const email = 'wrong-code@example.org';
    const { context, page } = await openAtCodeStep(email, 'Invoice', 'Paid in full');

    const code = await fixture.harness.latestCode(email);
    const wrongCode = wrongCodeFor(code);
    await submitCode(page, wrongCode);
    await page.getByText('This code is not right').waitFor();
    expect(await page.getByLabel('Sign-in code').getAttribute('aria-invalid')).toBe('true');
    await saveScreenshot(page, 'wrong-code');

    await submitCode(page, code);
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Paid in full');
    await context.close();
  });

  it('offers a new code for a locked code', async () => {
    const email = 'locked@example.org';
    const { context, page } = await openAtCodeStep(email, 'Locker', 'Number 4');

    // The 5th wrong try locks the code, so the page shows the lock right after it.
    const code = await fixture.harness.latestCode(email);
    const wrongCode = wrongCodeFor(code);
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      await Promise.all([page.waitForResponse('**/auth/sessions'), submitCode(page, wrongCode)]);
      await page.getByText('This code is not right').waitFor();
    }
    const [fifth] = await Promise.all([
      page.waitForResponse('**/auth/sessions'),
      submitCode(page, wrongCode),
    ]);
    expect(fifth.status()).toBe(401);
    await waitForHeading(page, 'This code is locked');
    const text = await mainText(page);
    expect(text).toContain('A wrong code was entered 5 times');
    expect(text).toContain(email);
    expect(text).not.toContain('type its 6 digits again');
    await saveScreenshot(page, 'locked-code');

    await signInWithNewCode(page, email, 'Number 4');
    await context.close();
  });

  it('says a code expired and sends a new one', async () => {
    const email = 'expired@example.org';
    const link = await inviteOne(email, 'Ticket', 'Seat 12A');
    const { context, page } = await openPage(fixture.browser);
    await page.clock.install();
    await page.goto(link);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    const firstCode = await fixture.harness.latestCode(email);

    const elevenMinutes = 11 * 60;
    fixture.harness.clock.advance(elevenMinutes);
    await page.clock.setSystemTime(Date.now() + elevenMinutes * 1000);
    await submitCode(page, firstCode);
    await waitForHeading(page, 'Your code has expired');
    await saveScreenshot(page, 'expired-code');

    await signInWithNewCode(page, email, 'Seat 12A');
    await context.close();
  });

  it('explains an invalid address once', async () => {
    const { context, page } = await openInvitation('dots@example.org', 'Letter', 'Dear reader');
    await submitEmail(page, '.x@example.org');
    await page.getByText('This is not a valid email address').waitFor();

    const text = await mainText(page);
    expect(text).toContain(
      'This is not a valid email address: the local part (before the "@") starts with a dot;',
    );
    expect(text).not.toContain('invalid email address');
    await context.close();
  });

  it('tells another address that the link is not theirs', async () => {
    const { context, page } = await openInvitation('owner@example.org', 'Deed', 'Lot 7');
    await signInOnPage(page, 'someone-else@example.org');
    await waitForHeading(page, NOT_FOR_THIS_ADDRESS);
    const text = await mainText(page);
    expect(text).toContain('someone-else@example.org');
    expect(text).toContain('sent to another address');
    expect(text).toContain('revoked');
    await saveScreenshot(page, 'other-address');

    await page.getByRole('button', { name: 'Use another address' }).click();
    await waitForHeading(page, 'Open your boxes');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await signInOnPage(page, 'owner@example.org');
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Lot 7');
    await context.close();
  });

  it('explains a link with one character changed', async () => {
    const email = 'altered@example.org';
    const link = await inviteOne(email, 'Payslip', 'Net pay');
    // The share stays 44 base64url characters, so only the server can tell it is wrong.
    const last = link.at(-1) === 'A' ? 'B' : 'A';
    const altered = `${link.slice(0, -1)}${last}`;

    const { context, page } = await openPage(fixture.browser);
    await page.goto(altered);
    await signInOnPage(page, email);
    await waitForHeading(page, NOT_FOR_THIS_ADDRESS);
    const text = await mainText(page);
    expect(text).toContain('the link was changed when it was copied');
    expect(text).not.toContain('Net pay');
    await context.close();
  });

  it('explains a revoked link', async () => {
    const email = 'revoked@example.org';
    const result = await fixture.harness.invite(email, [
      { title: 'Offer', messages: ['Withdrawn'] },
    ]);
    const publicKey = result.provision?.publicKey;
    if (
      result.link === undefined ||
      publicKey === undefined ||
      fixture.harness.organization === undefined
    ) {
      throw new Error('sendBoxes returned no provision');
    }
    await revokeProvision({ organization: fixture.harness.organization, publicKey });

    const { context, page } = await openPage(fixture.browser);
    await page.goto(result.link);
    await signInOnPage(page, email);
    await waitForHeading(page, NOT_FOR_THIS_ADDRESS);
    expect(await mainText(page)).not.toContain('Withdrawn');
    await context.close();
  });

  it('offers a retry after a network failure', async () => {
    const email = 'offline@example.org';
    const { context, page } = await openInvitation(email, 'Report', 'All green');

    let aborted = 0;
    await page.route('**/crypto/provisions?*', async (route) => {
      aborted += 1;
      await route.abort('internetdisconnected');
    });
    await signInOnPage(page, email);
    await waitForHeading(page, 'Cannot reach the server');
    expect(aborted).toBe(1);
    await saveScreenshot(page, 'network-failure');

    await page.unrouteAll();
    await page.getByRole('button', { name: 'Try again' }).click();
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('All green');
    await context.close();
  });

  it('offers a retry after the time limit', async () => {
    const email = 'silent@example.org';
    const { context, page } = await openInvitation(email, 'Report', 'Still green');

    // The request never gets a response, so the page's 30-second limit ends it.
    await page.route('**/crypto/provisions?*', () => undefined);
    await signInOnPage(page, email);
    await waitForHeading(page, 'The server did not respond', 45_000);
    expect(await mainText(page)).not.toContain('timeoutMs');

    await page.unrouteAll();
    await page.getByRole('button', { name: 'Try again' }).click();
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Still green');
    await context.close();
  }, 60_000);

  it('stops after too many codes', async () => {
    const email = 'impatient@example.org';
    const { context, page } = await openAtCodeStep(email, 'Parcel', 'Delivered');

    // The server sends at most 5 codes per address and hour.
    for (let sent = 1; sent < 5; sent += 1) {
      await page.getByRole('button', { name: 'Send a new code' }).click();
      await waitForHeading(page, 'Check your email');
    }
    expect(await fixture.harness.codeCount(email)).toBe(5);

    await page.getByRole('button', { name: 'Send a new code' }).click();
    await waitForHeading(page, 'Too many codes requested');
    expect(await mainText(page)).toContain(`${email} got 5 codes, the maximum for one hour.`);
    expect(await mainText(page)).toMatch(/Try again in 60 minutes\./);
    expect(await fixture.harness.codeCount(email)).toBe(5);

    // The fifth code still works, so the person need not wait for the hour to pass.
    await page.getByRole('button', { name: 'Enter the last code' }).click();
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Delivered');
    await context.close();
  });

  it('alerts that the sign-in expired', async () => {
    const email = 'lapsed@example.org';
    const { context, page } = await openInvitation(email, 'Policy', 'Renewed');

    // The first redemption request gets the 401 that an expired token gets.
    await page.route(
      '**/crypto/provisions?*',
      (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/problem+json',
          headers: { 'www-authenticate': 'Bearer realm="provisions", error="invalid_token"' },
          body: JSON.stringify({
            type: 'urn:provisions:problem:unauthorized',
            title: 'Authentication required',
            status: 401,
            detail: 'the access token has expired',
          }),
        }),
      { times: 1 },
    );
    await signInOnPage(page, email);
    await waitForHeading(page, 'Open your boxes');

    const alert = page.getByRole('alert');
    expect(await alert.count()).toBe(1);
    expect(await alert.textContent()).toContain('Your sign-in has expired.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    expect(await page.getByLabel('Email address').inputValue()).toBe(email);

    await signInOnPage(page, email);
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Renewed');
    await context.close();
  });

  it('hides a proxy error page', async () => {
    const email = 'proxied@example.org';
    const link = await inviteOne(email, 'Bill', 'Due in May');
    const { context, page } = await openPage(fixture.browser);
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push(message.text());
      }
    });
    await page.goto(link);

    await page.route('**/auth/email-codes', (route) =>
      route.fulfill({
        status: 502,
        contentType: 'text/html',
        body: '<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>',
      }),
    );
    await submitEmail(page, email);
    await waitForHeading(page, 'The server could not handle this');
    const text = await mainText(page);
    expect(text).toContain(
      'The server, or a proxy in front of it, failed to answer this request. Try again in a few minutes.',
    );
    expect(text).not.toContain('Bad Gateway');
    expect(text).not.toContain('text/html');
    expect(text).not.toContain('nginx');
    expect(consoleErrors.join('\n')).toContain('502');
    await saveScreenshot(page, 'proxy-error');

    await page.unrouteAll();
    await page.route('**/auth/email-codes', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        headers: { 'retry-after': '5' },
        body: JSON.stringify({
          type: 'urn:provisions:problem:service-unavailable',
          title: 'Service unavailable',
          status: 503,
          detail: 'the database is unreachable; retry in 5 seconds',
        }),
      }),
    );
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('Try again in 5 seconds.').waitFor();
    expect(await mainText(page)).not.toContain('database');

    await page.unrouteAll();
    await page.getByRole('button', { name: 'Try again' }).click();
    await waitForHeading(page, 'Check your email');
    await context.close();
  });

  it('shows that no boxes were sent yet', async () => {
    const email = 'early@example.org';
    const link = await fixture.harness.inviteWithoutBoxes(email, 'colleague@example.org');
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link);
    await signInOnPage(page, email);
    await waitForHeading(page, 'No boxes yet');
    expect(await mainText(page)).toContain(`signed in as ${email}`);
    await saveScreenshot(page, 'no-boxes');
    await context.close();
  });
});
