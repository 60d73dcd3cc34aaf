import {
  type ApiError,
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

import { PROBLEM_TYPES } from '../../src/errors/problem-types.js';
import { EMAIL_CODE_MAX_FAILED_ATTEMPTS, EMAIL_CODES_PER_HOUR } from '../../src/limits.js';
import { element } from './dom.js';
import { invalidEmailSentence } from './email-error-message.js';
import { takeInvitation } from './invitation-fragment.js';
import { LINK_PROBLEMS } from './link-problems.js';
import { fetchOrNetworkError, NetworkError } from './network-error.js';
import { canKeepProgress, type RecipientProgress, saveProgress } from './progress-storage.js';
import { retryAfterSeconds, tryAgainSentence, waitDuration } from './retry-after.js';
import {
  actionRow,
  alertBox,
  boxesView,
  busyView,
  failureView,
  render,
  singleFieldForm,
  type View,
  type ViewAction,
} from './views.js';

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
  readonly #keepsProgress = canKeepProgress();
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
      content: [...notice, intro, ...this.#reloadWarning(), form],
      ...(focusField ? { focus: input } : {}),
    });
  }

  /**
   * Shows the code step. `error` marks the typed code as invalid, `notice` explains
   * why it was not checked, and `code` fills the field so the person can send it again.
   */
  #showCodeStep(options: { error?: string; notice?: string; code?: string }): void {
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
      ...(options.code === undefined ? {} : { value: options.code }),
      ...(options.error === undefined ? {} : { error: options.error }),
      onSubmit: (code) => {
        void this.#signIn(code);
      },
    });

    const notice = options.notice === undefined ? [] : [alertBox(options.notice)];
    this.#show({
      title: 'Check your email',
      content: [
        ...notice,
        ...this.#reloadWarning(),
        form,
        actionRow([
          { label: 'Send a new code', run: () => void this.#requestCode(email), secondary: true },
          { label: 'Use another address', run: () => this.#changeAddress(), secondary: true },
        ]),
      ],
      focus: input,
    });
  }

  /**
   * Builds the warning that a reload loses the link, and how to get it back, for a browser
   * that blocks `sessionStorage`. Returns no element where the link survives a reload.
   */
  #reloadWarning(): HTMLElement[] {
    if (this.#keepsProgress) {
      return [];
    }
    return [
      element(
        'p',
        { class: 'hint' },
        'Your browser blocks this site from storing data, so a reload loses your link. If that happens, open the link from the invitation email again.',
      ),
    ];
  }

  #changeAddress(): void {
    this.#token = undefined;
    this.#update({ share: this.#progress.share });
    this.#showEmailStep({ focusField: true });
  }

  /** Tells whether the last code emailed to `email` can still be entered, by this browser's clock. */
  #hasPendingCode(email: string): boolean {
    return this.#progress.email === email && (this.#progress.codeExpiresAt ?? 0) > Date.now();
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
      if (isApiError(error) && error.status === 429) {
        this.#showCodeRequestLimit(error, normalized, () => void this.#requestCode(email));
        return;
      }
      this.#showFailure(error, () => void this.#requestCode(email));
    }
  }

  /**
   * Explains a 429 from `POST /auth/email-codes`: the address got its codes for the hour,
   * or the client address sent too many requests in a minute. A code emailed before
   * still works, so the person can go back and enter it.
   */
  #showCodeRequestLimit(error: ApiError, email: string, retry: () => void): void {
    const wait = tryAgainSentence(retryAfterSeconds(error.response));
    const actions: ViewAction[] = [];
    if (this.#hasPendingCode(email)) {
      actions.push({ label: 'Enter the last code', run: () => this.#showCodeStep({}) });
    }

    if (error.problem.type === PROBLEM_TYPES.tooManyEmailCodes.type) {
      actions.push({
        label: 'Use another address',
        run: () => this.#changeAddress(),
        secondary: actions.length > 0,
      });
      this.#show(
        failureView(
          'Too many codes requested',
          [`${email} got ${EMAIL_CODES_PER_HOUR} codes, the maximum for one hour. ${wait}`],
          actions,
        ),
      );
      return;
    }

    actions.push(
      { label: 'Try again', run: retry, secondary: actions.length > 0 },
      { label: 'Use another address', run: () => this.#changeAddress(), secondary: true },
    );
    this.#show(
      failureView(
        'Too many requests from your network',
        [`Your network asked for too many codes in the last minute, so no code was sent. ${wait}`],
        actions,
      ),
    );
  }

  async #signIn(code: string): Promise<void> {
    const email = this.#progress.email ?? '';
    this.#show(busyView('Signing in', 'Checking your code…'));
    let token: string;
    try {
      token = await signIn(this.#client, email, code);
    } catch (error) {
      if (error instanceof ProvisionsError && error.code === 'ERR_INVALID_CODE') {
        this.#showCodeStep({ error: 'Enter the 6 digits from the email, without spaces.' });
        return;
      }
      if (isApiError(error) && error.status === 401) {
        this.#showRejectedCode(error);
        return;
      }
      if (isApiError(error) && error.status === 429) {
        // The per-client limit rejects the request before the code is looked at, so
        // the same code still works after the wait.
        const seconds = retryAfterSeconds(error.response);
        const wait = seconds === undefined ? 'a minute' : waitDuration(seconds);
        this.#showCodeStep({
          code,
          notice: `Too many sign-in attempts came from your network in the last minute, so your code was not checked. Wait ${wait}, then sign in again with the same code.`,
        });
        return;
      }
      this.#showFailure(error, () => void this.#signIn(code));
      return;
    }

    // A link opened while the code was checked stopped this flow, which must not redeem.
    if (this.#stopped) {
      return;
    }
    this.#token = token;

    // The code is spent, so a reload from here on starts at the email step.
    this.#update({ share: this.#progress.share, email });
    await this.#redeem();
  }

  #showRejectedCode(error: ApiError): void {
    const email = this.#progress.email ?? '';
    const newCode = { label: 'Send a new code', run: () => void this.#requestCode(email) };

    if (error.problem.type === PROBLEM_TYPES.emailCodeLocked.type) {
      // The locked code is dead, so a reload starts at the email step.
      this.#update({ share: this.#progress.share, email });
      this.#show(
        failureView(
          'This code is locked',
          [
            `A wrong code was entered ${EMAIL_CODE_MAX_FAILED_ATTEMPTS} times, so this code no longer works. Ask for a new code; we email it to ${email}.`,
          ],
          [
            newCode,
            { label: 'Use another address', run: () => this.#changeAddress(), secondary: true },
          ],
        ),
      );
      return;
    }

    const expiresAt = this.#progress.codeExpiresAt ?? 0;
    if (Date.now() >= expiresAt) {
      this.#show(
        failureView(
          'Your code has expired',
          ['A sign-in code works for 10 minutes. Ask for a new one and enter it in time.'],
          [newCode],
        ),
      );
      return;
    }

    this.#showCodeStep({
      error: `This code is not right. Check the newest email we sent and type its 6 digits again. After ${EMAIL_CODE_MAX_FAILED_ATTEMPTS} wrong tries the code locks, and you can ask for a new one.`,
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

  /**
   * Shows a failure that is not specific to one step: no response, time limit, rate
   * limit, a failed server or proxy, or other.
   */
  #showFailure(error: unknown, retry: () => void): void {
    const tryAgain = { label: 'Try again', run: retry };
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
          [tryAgain, startOver],
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
          [tryAgain, startOver],
        ),
      );
      return;
    }

    if (isApiError(error) && error.status === 429) {
      const wait = tryAgainSentence(retryAfterSeconds(error.response));
      this.#show(
        failureView(
          'Too many requests from your network',
          [`The server got too many requests from your network. ${wait}`],
          [tryAgain, startOver],
        ),
      );
      return;
    }

    // A 5xx, or a body that is not the API's problem details, comes from a failing
    // server or from a proxy in front of it. Its details (status, a quote of an HTML
    // page) mean nothing to the person, so they go to the console only.
    if (isApiError(error) && (error.status >= 500 || error.problem.type === 'about:blank')) {
      console.error(error.message);
      const seconds = retryAfterSeconds(error.response);
      const wait =
        seconds === undefined ? 'Try again in a few minutes.' : tryAgainSentence(seconds);
      this.#show(
        failureView(
          'The server could not handle this',
          [`The server, or a proxy in front of it, failed to answer this request. ${wait}`],
          [tryAgain, startOver],
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
          [tryAgain, startOver],
        ),
      );
      return;
    }

    const detail = error instanceof Error ? error.message : String(error);
    this.#show(
      failureView(
        'Something went wrong',
        ['The server or the page failed. The details:', detail],
        [tryAgain, startOver],
      ),
    );
  }
}
