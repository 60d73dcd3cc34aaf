import { ProvisionsError } from './provisions-error.js';

/** Stable codes of {@link RecipientError}. */
export type RecipientErrorCode =
  | 'ERR_PROVISION_NOT_FOUND'
  | 'ERR_SHARE_MISMATCH'
  | 'ERR_INVALID_INVITATION'
  | 'ERR_BOX_KEY_MISMATCH'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_IDENTITY_KEY_MISMATCH';

/**
 * A failure of the recipient flow that must stop it rather than return wrong
 * data: no provision for this link and person, a share that does not rebuild
 * the provision key, an invitation or message that cannot be opened, or a box
 * whose public key does not match the key it was sent with.
 */
export class RecipientError extends ProvisionsError {
  declare readonly code: RecipientErrorCode;

  constructor(code: RecipientErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
