import { ProvisionsError } from './provisions-error.js';

/** Stable codes of {@link DeliveryError}. */
export type DeliveryErrorCode = 'ERR_INVALID_BOX' | 'ERR_PROVISION_NOT_IN_KEYSTORE';

/** Invalid boxes to send, or a provision the organization cannot build a link for. */
export class DeliveryError extends ProvisionsError {
  declare readonly code: DeliveryErrorCode;

  constructor(code: DeliveryErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
