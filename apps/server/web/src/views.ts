import type { ReceivedBox, ReceivedMessage } from '@provisions/core';

import { type Child, element } from './dom.js';

/** A button of a view, with what it does. */
export interface ViewAction {
  label: string;
  run: () => void;
  /** Drawn as a secondary button; the first action is the primary one otherwise. */
  secondary?: boolean;
}

/** One state of the page: a heading and what goes under it. */
export interface View {
  title: string;
  content: Child[];
  /** Element to focus after rendering; the heading by default. */
  focus?: HTMLElement;
  /** Text of the page's status line, such as what a running request does; none by default. */
  status?: string;
  /** Whether a request runs, which sets `aria-busy` on the page content. */
  busy?: boolean;
}

/** Id of the status line in `join.html`, a live region outside `main`. */
const STATUS_ID = 'page-status';

/**
 * Replaces the page content with a view and moves the keyboard focus to it, so
 * screen readers announce the new state and the next Tab starts inside it.
 *
 * The status text goes into a live region that stays in the page, because screen
 * readers often skip a live region that is inserted with its text. The region is
 * outside `main`, because they may also hold back changes inside an `aria-busy` element.
 */
export function render(main: HTMLElement, view: View): void {
  const heading = element('h1', { tabindex: '-1' }, view.title);
  main.replaceChildren(heading, ...view.content);
  if (view.busy === true) {
    main.setAttribute('aria-busy', 'true');
  } else {
    main.removeAttribute('aria-busy');
  }
  document.title = `${view.title} – provisions`;
  (view.focus ?? heading).focus();

  statusLine(main).textContent = view.status ?? '';
}

/** Returns the status line of the page, and adds it after `main` if the HTML lacks it. */
function statusLine(main: HTMLElement): HTMLElement {
  const existing = document.getElementById(STATUS_ID);
  if (existing !== null) {
    return existing;
  }

  const line = element('p', { id: STATUS_ID, class: 'status', role: 'status' });
  main.after(line);
  return line;
}

/** Builds a row of buttons. */
export function actionRow(actions: readonly ViewAction[]): HTMLElement {
  const buttons = actions.map((action) => {
    const button = element(
      'button',
      { type: 'button', class: action.secondary === true ? 'secondary' : false },
      action.label,
    );
    button.addEventListener('click', action.run);
    return button;
  });
  return element('div', { class: 'actions' }, ...buttons);
}

/** Builds an alert box, which assistive technology reads out at once. */
export function alertBox(...paragraphs: string[]): HTMLElement {
  return element(
    'div',
    { class: 'alert', role: 'alert' },
    ...paragraphs.map((text) => element('p', {}, text)),
  );
}

/** Builds the view of a failure: its message and the buttons that help. */
export function failureView(title: string, paragraphs: string[], actions: ViewAction[]): View {
  return { title, content: [alertBox(...paragraphs), actionRow(actions)] };
}

/** Builds the view shown while a request runs: a heading, and what runs on the status line. */
export function busyView(title: string, text: string): View {
  return { title, content: [], status: text, busy: true };
}

/** A form with one labelled input, its hint, an optional error and a submit button. */
export interface SingleFieldForm {
  form: HTMLFormElement;
  input: HTMLInputElement;
}

/**
 * Builds a form with one labelled input. `onSubmit` gets the trimmed value; the
 * form never posts anywhere (the page's Content-Security-Policy forbids it too).
 */
export function singleFieldForm(options: {
  id: string;
  label: string;
  hint: string;
  submitLabel: string;
  inputAttributes: Record<string, string | boolean>;
  value?: string;
  error?: string;
  onSubmit: (value: string) => void;
}): SingleFieldForm {
  const hintId = `${options.id}-hint`;
  const errorId = `${options.id}-error`;
  const describedBy = options.error === undefined ? hintId : `${hintId} ${errorId}`;

  const input = element('input', {
    id: options.id,
    name: options.id,
    required: true,
    'aria-describedby': describedBy,
    'aria-invalid': options.error === undefined ? false : 'true',
    ...options.inputAttributes,
  });
  input.value = options.value ?? '';

  const form = element(
    'form',
    { novalidate: true },
    element('label', { for: options.id }, options.label),
    element('p', { id: hintId, class: 'hint' }, options.hint),
    input,
    ...(options.error === undefined
      ? []
      : [element('p', { id: errorId, class: 'field-error', role: 'alert' }, options.error)]),
    element(
      'div',
      { class: 'actions' },
      element('button', { type: 'submit' }, options.submitLabel),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    options.onSubmit(input.value.trim());
  });

  return { form, input };
}

/**
 * Builds the view of the opened boxes with their decrypted messages, or of no boxes yet.
 * Titles and messages take their direction from their first strong character
 * (`dir="auto"`), so right-to-left text is laid out right to left in the English page.
 */
export function boxesView(boxes: readonly ReceivedBox[], email: string): View {
  if (boxes.length === 0) {
    return {
      title: 'No boxes yet',
      content: [
        element(
          'p',
          {},
          `Your invitation works and you are signed in as ${email}, but nothing has been sent to you through it yet.`,
        ),
        element(
          'p',
          {},
          'Keep the invitation email: the same link opens the boxes the sender adds later.',
        ),
      ],
    };
  }

  const items = boxes.map((box) =>
    element(
      'li',
      { class: 'box' },
      element('h2', { dir: 'auto' }, box.title),
      box.messages.length === 0 && box.unreadableMessages.length === 0
        ? element('p', { class: 'meta' }, 'This box has no messages yet.')
        : element('ol', { class: 'messages' }, ...box.messages.map(messageItem)),
      ...unreadableNotice(box.unreadableMessages.length),
    ),
  );

  const count = boxes.length === 1 ? '1 box' : `${boxes.length} boxes`;
  return {
    title: 'Your boxes',
    content: [
      element('p', {}, `Signed in as ${email}. ${count}, decrypted in this browser.`),
      element('ul', { class: 'boxes' }, ...items),
    ],
  };
}

/**
 * Builds the list item of a message. A message that a person posted is marked before
 * its text, because any member of a box may post to it, and the text could claim to come
 * from the organization.
 */
function messageItem(message: ReceivedMessage): HTMLElement {
  const text = element('p', { class: 'message', dir: 'auto' }, message.text);
  const meta = element(
    'p',
    { class: 'meta' },
    element('time', { datetime: message.createdAt }, new Date(message.createdAt).toLocaleString()),
  );
  if (message.sender.type === 'organization') {
    return element('li', {}, text, meta);
  }

  const note = element('p', { class: 'sender' }, 'From a member of this box, not from the sender.');
  return element('li', { class: 'from-member' }, note, text, meta);
}

/** Says how many messages of a box could not be opened; nothing when all could. */
function unreadableNotice(count: number): HTMLElement[] {
  if (count === 0) {
    return [];
  }
  const messages = count === 1 ? '1 message' : `${count} messages`;
  return [
    element(
      'p',
      { class: 'meta', role: 'note' },
      `${messages} in this box could not be opened: damaged, or not sealed to this box. Ask the sender to send it again.`,
    ),
  ];
}
