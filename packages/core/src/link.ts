import { decodeBase64Url, encodeBase64Url, SHARE_LENGTH } from '@provisions/crypto';

import { invalidArgument } from './argument-checks.js';
import { ProvisionsError } from './provisions-error.js';

/** Path that the app serves the join page on, appended to the app URL. */
export const INVITATION_LINK_PATH = '/join';

/** Text that starts the fragment of an invitation link, before the key share. */
export const INVITATION_FRAGMENT_PREFIX = 'provision:';

/** Length in base64url characters of a user key share (33 bytes). */
export const ENCODED_SHARE_LENGTH = 44;

const BASE64URL_CHARACTERS = /^[A-Za-z0-9_-]*$/;

/** Check of {@link parseInvitationLink} that an invitation link failed. */
export type InvitationLinkErrorReason =
  | 'not_a_url'
  | 'missing_fragment'
  | 'wrong_prefix'
  | 'wrong_length'
  | 'invalid_characters'
  | 'non_canonical'
  | 'wrong_path';

/**
 * A damaged or malformed invitation link, or an invalid argument to
 * {@link formatInvitationLink}. `code` is always `ERR_INVALID_INVITATION_LINK`;
 * `reason` names the check that failed. The message never contains the key share.
 */
export class InvitationLinkError extends ProvisionsError {
  /** The check that failed. */
  readonly reason: InvitationLinkErrorReason;

  constructor(reason: InvitationLinkErrorReason, message: string, options?: ErrorOptions) {
    super('ERR_INVALID_INVITATION_LINK', message, options);
    this.reason = reason;
  }
}

/** The two parts of an invitation link. */
export interface InvitationLink {
  /** App URL without a trailing slash, such as `https://app.example.com`. */
  appUrl: string;
  /** The person's 33-byte Shamir share of the provision secret key. */
  userKeyShare: Uint8Array;
}

/**
 * Builds the invitation link `{appUrl}/join#provision:{share}` for a provision.
 *
 * The share goes in the URL fragment, which browsers never send to a server.
 *
 * @param appUrl - http or https URL of the app, with no query string or fragment;
 *   a trailing slash is removed.
 * @param userKeyShare - the 33-byte user key share from `createProvision()`.
 * @returns the link; the share is 44 base64url characters.
 * @throws InvitationLinkError with reason `not_a_url` for an invalid app URL, or
 *   `wrong_length` for a share that is not 33 bytes; ProvisionsError
 *   `ERR_INVALID_ARGUMENT` for a share that is not a Uint8Array.
 * @example
 * formatInvitationLink('https://app.example.com/', provision.userKeyShare);
 * // 'https://app.example.com/join#provision:AbC…'
 */
export function formatInvitationLink(appUrl: string, userKeyShare: Uint8Array): string {
  const base = normalizeAppUrl(appUrl);

  if (!(userKeyShare instanceof Uint8Array)) {
    throw invalidArgument('userKeyShare', `a Uint8Array of ${SHARE_LENGTH} bytes`, userKeyShare);
  }
  if (userKeyShare.length !== SHARE_LENGTH) {
    throw new InvitationLinkError(
      'wrong_length',
      `invalid user key share: expected ${SHARE_LENGTH} bytes, received ${userKeyShare.length}`,
    );
  }

  return `${base}${INVITATION_LINK_PATH}#${INVITATION_FRAGMENT_PREFIX}${encodeBase64Url(userKeyShare)}`;
}

/**
 * Parses an invitation link strictly and returns its app URL and key share.
 *
 * Whitespace around the link is ignored. Everything else must match the form
 * that {@link formatInvitationLink} produces, so a link damaged in transit is
 * rejected instead of turned into a wrong share.
 *
 * @param link - `{appUrl}/join#provision:{44 base64url characters}`.
 * @returns the app URL (no trailing slash) and the 33-byte user key share.
 * @throws InvitationLinkError whose `reason` is one of `not_a_url`,
 *   `missing_fragment`, `wrong_prefix`, `wrong_length`, `invalid_characters`,
 *   `non_canonical` or `wrong_path`.
 * @example
 * const { appUrl, userKeyShare } = parseInvitationLink(linkFromEmail);
 */
export function parseInvitationLink(link: string): InvitationLink {
  const text = typeof link === 'string' ? link.trim() : '';
  const url = parseHttpUrl(text);
  if (url === undefined) {
    throw new InvitationLinkError(
      'not_a_url',
      'invalid invitation link: expected an http or https URL; copy the whole link from the invitation',
    );
  }

  const hashIndex = text.indexOf('#');
  const fragment = hashIndex === -1 ? '' : text.slice(hashIndex + 1);
  if (fragment === '') {
    throw new InvitationLinkError(
      'missing_fragment',
      'invalid invitation link: the "#provision:…" part is missing; it was probably cut off when the link was copied, so copy the whole link',
    );
  }

  if (!fragment.startsWith(INVITATION_FRAGMENT_PREFIX)) {
    throw new InvitationLinkError(
      'wrong_prefix',
      `invalid invitation link: the part after "#" must start with "${INVITATION_FRAGMENT_PREFIX}"; this is not an invitation link, or it was edited`,
    );
  }

  const encodedShare = fragment.slice(INVITATION_FRAGMENT_PREFIX.length);
  const userKeyShare = decodeShare(encodedShare);

  if (
    !url.pathname.endsWith(INVITATION_LINK_PATH) ||
    url.search !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new InvitationLinkError(
      'wrong_path',
      `invalid invitation link: expected the form {app URL}${INVITATION_LINK_PATH}#${INVITATION_FRAGMENT_PREFIX}…, with no query string or credentials`,
    );
  }

  const appPath = url.pathname.slice(0, -INVITATION_LINK_PATH.length);

  return { appUrl: `${url.origin}${appPath}`, userKeyShare };
}

function decodeShare(encodedShare: string): Uint8Array {
  if (encodedShare.length !== ENCODED_SHARE_LENGTH) {
    throw new InvitationLinkError(
      'wrong_length',
      `invalid invitation link: the key share must be ${ENCODED_SHARE_LENGTH} characters, received ${encodedShare.length}; the link was probably cut off or extended when it was copied`,
    );
  }

  if (!BASE64URL_CHARACTERS.test(encodedShare)) {
    throw new InvitationLinkError(
      'invalid_characters',
      'invalid invitation link: the key share contains characters outside base64url (A-Z, a-z, 0-9, "-" and "_"); copy the link again without changing it',
    );
  }

  try {
    return decodeBase64Url(encodedShare, { length: SHARE_LENGTH, name: 'user key share' });
  } catch (cause) {
    // NOTE: 44 characters carry exactly 264 bits, so every share that passed
    // the checks above decodes. This branch guards a future share length whose
    // trailing bits could make a text non-canonical.
    throw new InvitationLinkError(
      'non_canonical',
      'invalid invitation link: the key share is not canonical base64url; copy the link again without changing it',
      { cause },
    );
  }
}

/**
 * Returns an app URL without its trailing slashes.
 *
 * @throws InvitationLinkError `not_a_url` unless `appUrl` is an http or https URL with no
 *   query string, fragment or credentials.
 */
export function normalizeAppUrl(appUrl: string): string {
  const url = parseHttpUrl(appUrl);
  if (
    url === undefined ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new InvitationLinkError(
      'not_a_url',
      'invalid app URL: expected an http or https URL with no query string, fragment or credentials',
    );
  }

  return url.href.replace(/\/+$/, '');
}

function parseHttpUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) {
    return undefined;
  }

  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return undefined;
  }

  return url;
}
