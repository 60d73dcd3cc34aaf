import {
  ApiTimeoutError,
  createApiClient,
  EmailAddressError,
  isApiError,
  normalizeEmail,
} from '@provisions/api';
import {
  INVITATION_FRAGMENT_PREFIX,
  INVITATION_LINK_PATH,
  ProvisionsError,
  RecipientError,
  redeemInvitation,
  requestEmailCode,
  signIn,
} from '@provisions/core';

import { element } from './dom.js';
import { invalidEmailSentence } from './email-error-message.js';
import { takeInvitation } from './invitation-fragment.js';
import { LINK_PROBLEMS } from './link-problems.js';
import { fetchOrNetworkError, NetworkError } from './network-error.js';
import { type RecipientProgress, saveProgress } from './progress-storage.js';
import {
  actionRow,
  alertBox,
  boxesView,
  busyView,
  failureView,
  render,
  singleFieldForm,
  type View,
} from './views.js';

const SECONDS_PER_MINUTE = 60;

/**
 * Runs the recipient page in `main`: reads the invitation from the address bar,
 * then signs the person in with an emailed code and opens their boxes.
 *
 * Nothing is requested until the person submits their email address, because mail
 * scanners open links too. The share never leaves the browser: the server only
 * receives its SHA-512 hash, during redemption.
 *
 * A link opened in a tab that already shows the page changes only the fragment, so
 * the browser does not load the page again. The page then starts over with that link.
 */
export function startRecipientPage(main: HTMLElement): void {
  let flow = openInvitation(main);

  window.addEventListener('hashchange', () => {
    if (location.hash === '') {
      return;
    }
    flow?.stop();
    flow = openInvitation(main);
  });
}

/** Starts the steps for the invitation in the address bar or storage, or explains a damaged link. */
function openInvitation(main: HTMLElement): RecipientFlow | undefined {
  const source = takeInvitation();
  if (source.kind === 'damaged') {
    const problem = LINK_PROBLEMS[source.reason];
    render(main, { title: problem.title, content: [element('p', {}, problem.advice)] });
    return undefined;
  }

  const flow = new RecipientFlow(main, source.progress);
  flow.resume();
  return flow;
}

/** The steps after a valid link: email, code, redemption. */
class RecipientFlow {
  readonly #main: HTMLElement;
  #progress: RecipientProgress;
  // The bearer token is kept in memory only, so after a reload the person requests a new code.
  #token: string | undefined;
  // Set when another link replaced this one, so that a request still running changes nothing.
  #stopped = false;
  readonly #client = createApiClient({
    baseUrl: location.origin,
    token: () => this.#token,
    fetch: fetchOrNetworkError,
  });

  constructor(main: HTMLElement, progress: RecipientProgress) {
    this.#main = main;
    this.#progress = progress;
  }

  /** Shows the code step after a reload if a code was requested, else the email step. */
  resume(): void {
    if (this.#progress.email !== undefined && this.#progress.codeExpiresAt !== undefined) {
      this.#showCodeStep({});
    } else {
      this.#showEmailStep({});
    }
  }

  /** Ends this flow for good: it drops its token and neither stores nor shows anything more. */
  stop(): void {
    this.#stopped = true;
    this.#token = undefined;
  }

  #update(progress: RecipientProgress): void {
    if (this.#stopped) {
      return;
    }
    this.#progress = progress;
    saveProgress(progress);
  }

  #show(view: View): void {
    if (this.#stopped) {
      return;
    }
    render(this.#main, view);
  }

  /**
   * Shows the email step. The email field takes the focus when the step shows an error
   * or a notice, or when the person comes back from another step. On first load the
   * heading takes it.
   */
  #showEmailStep(options: { error?: string; notice?: string; focusField?: boolean }): void {
    const { form, input } = singleFieldForm({
      id: 'email',
      label: 'Email address',
      hint: 'The address your invitation was sent to. We email you a 6-digit code.',
      submitLabel: 'Email me a code',
      inputAttributes: { type: 'email', autocomplete: 'email', spellcheck: 'false' },
      value: this.#progress.email ?? '',
      ...(options.error === undefined ? {} : { error: options.error }),
      onSubmit: (email) => {
        void this.#requestCode(email);
      },
    });

    const intro = element(
      'p',
      {},
      'An organization put documents or messages for you in encrypted boxes, which only you can open. Sign in with the email address the invitation was sent to; the boxes are decrypted here, in your browser.',
    );
    const notice = options.notice === undefined ? [] : [alertBox(options.notice)];
    const focusField =
      options.focusField === true || options.error !== undefined || options.notice !== undefined;
    this.#show({
      title: 'Open your boxes',
      content: [...notice, intro, form],
      ...(focusField ? { focus: input } : {}),
    });
  }

  #showCodeStep(options: { error?: string }): void {
    const email = this.#progress.email ?? '';
    const { form, input } = singleFieldForm({
      id: 'code',
      label: 'Sign-in code',
      hint: `The 6 digits we emailed to ${email}. The code works for 10 minutes.`,
      submitLabel: 'Sign in and open',
      inputAttributes: {
        type: 'text',
        inputmode: 'numeric',
        autocomplete: 'one-time-code',
        pattern: '[0-9]{6}',
        maxlength: '6',
        spellcheck: 'false',
      },
      ...(options.error === undefined ? {} : { error: options.error }),
      onSubmit: (code) => {
        void this.#signIn(code);
      },
    });

    this.#show({
      title: 'Check your email',
      content: [
        form,
        actionRow([
          { label: 'Send a new code', run: () => void this.#requestCode(email), secondary: true },
          { label: 'Use another address', run: () => this.#changeAddress(), secondary: true },
        ]),
      ],
      focus: input,
    });
  }

  #changeAddress(): void {
    this.#token = undefined;
    this.#update({ share: this.#progress.share });
    this.#showEmailStep({ focusField: true });
  }

  async #requestCode(email: string): Promise<void> {
    let normalized: string;
    try {
      normalized = normalizeEmail(email);
    } catch (error) {
      if (error instanceof EmailAddressError) {
        this.#update({ share: this.#progress.share, email });
        this.#showEmailStep({ error: invalidEmailSentence(error) });
        return;
      }
      throw error;
    }

    this.#show(busyView('Sending a code', `Sending a sign-in code to ${normalized}…`));
    try {
      const { expiresAt } = await requestEmailCode(this.#client, normalized);
      // NOTE: the server gives the expiry by its own clock and the page compares it with
      // the browser's clock. A skewed clock only changes the message a rejected code
      // gets, never whether the server accepts the code.
      this.#update({
        share: this.#progress.share,
        email: normalized,
        codeExpiresAt: Date.parse(expiresAt),
      });
      this.#showCodeStep({});
    } catch (error) {
      this.#showFailure(error, () => void this.#requestCode(email));
    }
  }

  async #signIn(code: string): Promise<void> {
    const email = this.#progress.email ?? '';
    this.#show(busyView('Signing in', 'Checking your code…'));
    try {
      this.#token = await signIn(this.#client, email, code);
    } catch (error) {
      if (error instanceof ProvisionsError && error.code === 'ERR_INVALID_CODE') {
        this.#showCodeStep({ error: 'Enter the 6 digits from the email, without spaces.' });
        return;
      }
      if (isApiError(error) && error.status === 401) {
        this.#showRejectedCode();
        return;
      }
      this.#showFailure(error, () => void this.#signIn(code));
      return;
    }

    // The code is spent, so a reload from here on starts at the email step.
    this.#update({ share: this.#progress.share, email });
    await this.#redeem();
  }

  #showRejectedCode(): void {
    const expiresAt = this.#progress.codeExpiresAt ?? 0;
    if (Date.now() >= expiresAt) {
      const email = this.#progress.email ?? '';
      this.#show(
        failureView(
          'Your code has expired',
          ['A sign-in code works for 10 minutes. Ask for a new one and enter it in time.'],
          [{ label: 'Send a new code', run: () => void this.#requestCode(email) }],
        ),
      );
      return;
    }

    this.#showCodeStep({
      error:
        'This code is not right. Check the newest email we sent and type its 6 digits again; after 5 wrong tries, ask for a new code.',
    });
  }

  async #redeem(): Promise<void> {
    const email = this.#progress.email ?? '';
    this.#show(busyView('Opening your boxes', 'Decrypting your boxes in this browser…'));

    const link = `${location.origin}${INVITATION_LINK_PATH}#${INVITATION_FRAGMENT_PREFIX}${this.#progress.share}`;
    try {
      const { boxes } = await redeemInvitation({ client: this.#client, link });
      this.#show(boxesView(boxes, email));
    } catch (error) {
      if (error instanceof RecipientError && error.code === 'ERR_PROVISION_NOT_FOUND') {
        this.#show(
          failureView(
            'This link does not open anything for this address',
            [
              `You are signed in as ${email}. Either the invitation was sent to another address, the link was changed when it was copied, or the sender revoked it.`,
              'Sign in with the address the invitation email was sent to. If you did, ask the sender for a new link.',
            ],
            [{ label: 'Use another address', run: () => this.#changeAddress() }],
          ),
        );
        return;
      }
      if (isApiError(error) && error.status === 401) {
        this.#token = undefined;
        this.#update({ share: this.#progress.share, email });
        this.#showEmailStep({ notice: 'Your sign-in has expired. Ask for a new code.' });
        return;
      }
      this.#showFailure(error, () => void this.#redeem());
    }
  }

  /** Shows a failure that is not specific to one step: no response, time limit, rate limit, or other. */
  #showFailure(error: unknown, retry: () => void): void {
    const startOver = {
      label: 'Start over',
      run: () => this.#changeAddress(),
      secondary: true,
    };

    if (error instanceof NetworkError) {
      this.#show(
        failureView(
          'Cannot reach the server',
          ['Your browser got no answer. Check your connection, then try again.'],
          [{ label: 'Try again', run: retry }, startOver],
        ),
      );
      return;
    }

    if (error instanceof ApiTimeoutError) {
      this.#show(
        failureView(
          'The server did not respond',
          [
            `Your browser waited ${error.timeoutMs / 1000} seconds without an answer. The server may be busy; try again in a moment.`,
          ],
          [{ label: 'Try again', run: retry }, startOver],
        ),
      );
      return;
    }

    if (isApiError(error) && error.status === 429) {
      const retryAfter = error.response?.headers.get('retry-after');
      const seconds =
        retryAfter === null || retryAfter === undefined ? Number.NaN : Number(retryAfter);
      const wait =
        Number.isFinite(seconds) && seconds > 0
          ? `Try again in ${Math.ceil(seconds / SECONDS_PER_MINUTE)} minutes.`
          : 'Try again later.';
      this.#show(
        failureView(
          'Too many codes requested',
          [`This address got the maximum number of codes for one hour. ${wait}`],
          [startOver],
        ),
      );
      return;
    }

    if (error instanceof RecipientError) {
      this.#show(
        failureView(
          'A box could not be opened safely',
          [
            'Something in your invitation did not check out, so nothing was shown. The details:',
            error.message,
          ],
          [{ label: 'Try again', run: retry }, startOver],
        ),
      );
      return;
    }

    const detail = error instanceof Error ? error.message : String(error);
    this.#show(
      failureView(
        'Something went wrong',
        ['The server or the page failed. The details:', detail],
        [{ label: 'Try again', run: retry }, startOver],
      ),
    );
  }
}
