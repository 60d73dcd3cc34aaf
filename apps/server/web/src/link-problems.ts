import type { InvitationLinkErrorReason } from '@provisions/core';

/** Explanation shown for a damaged link: what is wrong, and what to do. */
export interface LinkProblem {
  /** Heading: what is wrong with the link. */
  title: string;
  /** Next step for the person. */
  advice: string;
}

const COPY_AGAIN =
  'Open the invitation email again and click the link, or copy the whole link into the address bar without changing it.';

const ASK_SENDER = 'If it still does not work, ask the sender for a new invitation.';

/** Explanation of each reason `parseInvitationLink` gives for rejecting a link. */
export const LINK_PROBLEMS: Readonly<Record<InvitationLinkErrorReason, LinkProblem>> = {
  missing_fragment: {
    title: 'The key part of your link is missing',
    advice: `The end of the link, which holds your key, did not arrive here; links are often cut off when copied. ${COPY_AGAIN}`,
  },
  wrong_prefix: {
    title: 'This is not an invitation link',
    advice: `The end of the link is not the kind of key an invitation carries. ${COPY_AGAIN} ${ASK_SENDER}`,
  },
  wrong_length: {
    title: 'Your link is cut off or too long',
    advice: `The key at the end of the link has the wrong length, so part of it was lost or something was added. ${COPY_AGAIN}`,
  },
  invalid_characters: {
    title: 'Your link contains characters that do not belong there',
    advice: `The key at the end of the link holds characters it never contains, often added by an email program or when copying. ${COPY_AGAIN}`,
  },
  non_canonical: {
    title: 'Your link was changed',
    advice: `The key at the end of the link is not the one the sender made. ${COPY_AGAIN}`,
  },
  wrong_path: {
    title: 'Your link has the wrong form',
    advice: `Something was added to the middle of the link. ${COPY_AGAIN}`,
  },
  not_a_url: {
    title: 'Your link is not a web address',
    advice: COPY_AGAIN,
  },
};
