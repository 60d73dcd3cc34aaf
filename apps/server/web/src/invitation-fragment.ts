import {
  INVITATION_FRAGMENT_PREFIX,
  INVITATION_LINK_PATH,
  InvitationLinkError,
  type InvitationLinkErrorReason,
  parseInvitationLink,
} from '@provisions/core';

import {
  clearProgress,
  loadProgress,
  type RecipientProgress,
  saveProgress,
} from './progress-storage.js';

/** The invitation the page works with, or why the link cannot be used. */
export type InvitationSource =
  | { kind: 'ready'; progress: RecipientProgress }
  | { kind: 'damaged'; reason: InvitationLinkErrorReason };

/**
 * Takes the invitation from the address bar, or from this tab's storage after a reload.
 *
 * The fragment is removed from the address bar and from the current history entry
 * (`history.replaceState` to `/join`) before anything else, even for an invalid link.
 * So the share stays neither in the history nor on screen. A valid share is kept in
 * memory and `sessionStorage` only. No request is made here.
 *
 * A new link replaces the stored progress of another link, and a damaged link deletes
 * it. The same link keeps it, so reopening the email after asking for a code does not
 * start over.
 */
export function takeInvitation(): InvitationSource {
  const href = location.href;
  const hasFragment = href.includes('#');
  if (hasFragment || location.search !== '') {
    history.replaceState(null, '', INVITATION_LINK_PATH);
  }

  const stored = loadProgress();
  if (!hasFragment && stored !== undefined) {
    return { kind: 'ready', progress: stored };
  }

  try {
    const { userKeyShare } = parseInvitationLink(href);
    userKeyShare.fill(0);
  } catch (error) {
    if (error instanceof InvitationLinkError) {
      // The person came with another link, so the progress of an earlier one must not
      // come back on the next reload.
      clearProgress();
      return { kind: 'damaged', reason: error.reason };
    }
    throw error;
  }

  // parseInvitationLink accepted the link, so the fragment is the prefix and 44 characters.
  const share = href.slice(href.indexOf('#') + 1 + INVITATION_FRAGMENT_PREFIX.length);
  const progress = stored?.share === share ? stored : { share };
  saveProgress(progress);

  return { kind: 'ready', progress };
}
