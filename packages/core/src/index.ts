/**
 * Organization and recipient flows of crypto provisions: send end-to-end
 * encrypted boxes to people who may have no account yet, and open them with
 * an invitation link. This entry point runs in browsers and in Node.js; the
 * passphrase-encrypted file keystore is in `@provisions/core/keystore`.
 *
 * @packageDocumentation
 */

export {
  findMessageProblem,
  MAX_MESSAGE_BYTES,
  sealTextMessage,
  type TextMessageContent,
} from './box-message.js';
export {
  listCryptoActions,
  type MessageSender,
  type ReceivedBox,
  type ReceivedMessage,
  readInvitedBoxes,
  type UnreadableMessage,
} from './box-reading.js';
export { findBoxTitleProblem, MAX_BOX_TITLE_LENGTH } from './box-title.js';
export { DeliveryError, type DeliveryErrorCode } from './delivery-error.js';
export { registerIdentityKey } from './identity.js';
export { sealInvitation } from './invitation-data.js';
export {
  ENCODED_SHARE_LENGTH,
  formatInvitationLink,
  INVITATION_FRAGMENT_PREFIX,
  INVITATION_LINK_PATH,
  type InvitationLink,
  InvitationLinkError,
  type InvitationLinkErrorReason,
  parseInvitationLink,
} from './link.js';
export {
  type BoxContent,
  connectOrganization,
  type OrganizationConnection,
  revokeProvision,
  type SendBoxesResult,
  sendBoxes,
} from './organization.js';
export { isCredentialsRejection } from './organization-token.js';
export {
  KeystoreError,
  type KeystoreErrorCode,
  MemoryKeystore,
  type ProvisionKeystore,
  type ProvisionKeystoreEntry,
  validateKeystoreEntry,
} from './provision-keystore.js';
export { ProvisionsError } from './provisions-error.js';
export {
  type IdentityBoxes,
  type RedeemedInvitation,
  readBoxesWithIdentityKey,
  redeemInvitation,
  requestEmailCode,
  signIn,
} from './recipient.js';
export { RecipientError, type RecipientErrorCode } from './recipient-error.js';
