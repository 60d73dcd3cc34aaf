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
    advice: `The link must end with "#provision:" and 44 characters; this address has no "#" part, often because the link was cut off. ${COPY_AGAIN}`,
  },
  wrong_prefix: {
    title: 'This is not an invitation link',
    advice: `The part after "#" must start with "provision:". ${COPY_AGAIN} ${ASK_SENDER}`,
  },
  wrong_length: {
    title: 'Your link is cut off or too long',
    advice: `The key after "#provision:" must be exactly 44 characters. ${COPY_AGAIN}`,
  },
  invalid_characters: {
    title: 'Your link contains characters that do not belong there',
    advice: `The key after "#provision:" may only contain letters, digits, "-" and "_". ${COPY_AGAIN}`,
  },
  non_canonical: {
    title: 'Your link was changed',
    advice: `The key after "#provision:" is not in the form the sender made. ${COPY_AGAIN}`,
  },
  wrong_path: {
    title: 'Your link has the wrong form',
    advice: `An invitation link looks like …/join#provision:… with nothing between "join" and "#". ${COPY_AGAIN}`,
  },
  not_a_url: {
    title: 'Your link is not a web address',
    advice: COPY_AGAIN,
  },
};
