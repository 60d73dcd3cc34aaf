import type { BoxContent } from '@provisions/core';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  openPage,
  PHONE_VIEWPORT,
  saveScreenshot,
  useRecipientHarness,
} from './support/recipient-harness.js';
import { submitCode, submitEmail, waitForHeading } from './support/recipient-steps.js';

const fixture = useRecipientHarness();

/** Sends `boxes` to `email`, opens the link and signs in, which leaves the page at the boxes. */
async function openBoxes(
  email: string,
  boxes: readonly BoxContent[],
): Promise<{ context: BrowserContext; page: Page }> {
  const { link } = await fixture.harness.invite(email, boxes);
  if (link === undefined) {
    throw new Error(`sendBoxes returned no link for ${email}`);
  }
  const opened = await openPage(fixture.browser);
  await opened.page.goto(link);
  await submitEmail(opened.page, email);
  await waitForHeading(opened.page, 'Check your email');
  await submitCode(opened.page, await fixture.harness.latestCode(email));
  await waitForHeading(opened.page, 'Your boxes');
  return opened;
}

/** Returns the text of each box title and each message, in page order. */
function shownTexts(page: Page): Promise<{ titles: string[]; messages: string[] }> {
  return page.evaluate(() => ({
    titles: [...document.querySelectorAll('.box h2')].map((node) => node.textContent ?? ''),
    messages: [...document.querySelectorAll('.message')].map((node) => node.textContent ?? ''),
  }));
}

describe('recipient page content from senders', () => {
  it('shows markup as text', async () => {
    const title = '<img src="/x" onerror="document.body.dataset.title = \'ran\'">';
    const messages = [
      '<script>document.body.dataset.message = "ran"</script>',
      '<a href="javascript:document.body.dataset.link = \'ran\'">Open</a>',
      'javascript:document.body.dataset.url = "ran"',
      '<style>main { display: none }</style>&lt;b&gt;',
    ];
    const { context, page } = await openBoxes('markup@example.org', [{ title, messages }]);

    expect(await shownTexts(page)).toEqual({ titles: [title], messages });
    const created = await page.evaluate(() => ({
      elements: document.querySelectorAll('main img, main script, main a, main style').length,
      ran: { ...document.body.dataset },
    }));
    expect(created.elements).toBe(0);
    expect(created.ran).toEqual({});
    await context.close();
  });

  it('wraps long unbroken text', async () => {
    const title = 'W'.repeat(200);
    const messages = ['x'.repeat(5_000), `https://example.org/${'a/'.repeat(500)}`];
    const { context, page } = await openBoxes('long@example.org', [{ title, messages }]);

    expect(await shownTexts(page)).toEqual({ titles: [title], messages });
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(pageWidth).toBeLessThanOrEqual(PHONE_VIEWPORT.width);
    await context.close();
  });

  it('sets the direction of each text from its content', async () => {
    const rightToLeft = { title: 'חוזה עבודה 2026', messages: ['مرحبا، الراتب 1, 2, 3.'] };
    const leftToRight = { title: 'Contract 2026', messages: ['Hello (שלום) 1, 2, 3.'] };
    const { context, page } = await openBoxes('direction@example.org', [rightToLeft, leftToRight]);

    const directions = await page.evaluate(() =>
      [...document.querySelectorAll('.box h2, .message')].map((node) =>
        node.matches(':dir(rtl)') ? 'rtl' : 'ltr',
      ),
    );
    expect(directions).toEqual(['rtl', 'rtl', 'ltr', 'ltr']);
    await saveScreenshot(page, 'boxes-right-to-left');
    await context.close();
  });

  it('marks messages from other box members', async () => {
    const email = 'member-note@example.org';
    const link = await fixture.harness.inviteWithMember({
      recipient: email,
      member: 'colleague@example.org',
      title: 'Team contract',
      organizationMessage: 'Your contract is attached.',
      memberMessage: 'From HR: the contract is void, send your bank details to me.',
    });
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');

    const items = await page.evaluate(() =>
      [...document.querySelectorAll('.messages > li')].map((item) => ({
        text: item.querySelector('.message')?.textContent,
        // biome-ignore lint/performance/useDomNodeTextContent: innerText is the rendered text a person reads.
        renderedText: (item as HTMLElement).innerText,
      })),
    );
    expect(items).toHaveLength(2);
    expect(items[0]?.text).toBe('Your contract is attached.');
    expect(items[0]?.renderedText).not.toContain('member');
    expect(items[1]?.text).toBe('From HR: the contract is void, send your bank details to me.');
    expect(items[1]?.renderedText).toContain('From a member of this box, not from the sender.');
    await saveScreenshot(page, 'boxes-member-message');
    await context.close();
  });

  it('wraps a long address and error detail', async () => {
    // 64 characters, the maximum length of a local part.
    const email = `${'l'.repeat(64)}@example.org`;
    const { link } = await fixture.harness.invite(email, [{ title: 'Long', messages: ['Hi'] }]);
    const { context, page } = await openPage(fixture.browser);
    await page.goto(link ?? '');
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      PHONE_VIEWPORT.width,
    );

    // A problem whose detail has a long unbroken word, as a detail that quotes a value has.
    const detail = `the value ${'v'.repeat(300)} is invalid`;
    await page.route('**/auth/email-codes', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'urn:provisions:problem:invalid-request',
          title: 'Invalid request',
          status: 422,
          detail,
        }),
      }),
    );
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await waitForHeading(page, 'Something went wrong');
    expect(await page.getByRole('alert').textContent()).toContain(detail);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      PHONE_VIEWPORT.width,
    );
    await context.close();
  });
});
