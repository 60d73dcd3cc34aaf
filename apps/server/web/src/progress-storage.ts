/**
 * Progress of the recipient kept across a reload, in `sessionStorage` (one tab,
 * gone when it closes): the key share of the link, the email address and the expiry
 * of the emailed code. The access token is never stored.
 */
export interface RecipientProgress {
  /** The user key share from the link, 44 base64url characters. A secret. */
  share: string;
  /** The address the person asked a code for. */
  email?: string;
  /** When the emailed code expires, in milliseconds since the epoch, by this browser's clock. */
  codeExpiresAt?: number;
}

const STORAGE_KEY = 'provisions.join';

/** Returns the stored progress, or undefined when there is none or it is not readable. */
export function loadProgress(): RecipientProgress | undefined {
  const text = sessionStorage.getItem(STORAGE_KEY);
  if (text === null) {
    return undefined;
  }

  try {
    const value = JSON.parse(text) as Partial<RecipientProgress>;
    if (typeof value.share !== 'string') {
      return undefined;
    }
    return {
      share: value.share,
      ...(typeof value.email === 'string' ? { email: value.email } : {}),
      ...(typeof value.codeExpiresAt === 'number' ? { codeExpiresAt: value.codeExpiresAt } : {}),
    };
  } catch {
    // Storage written by another version of the page: start over with the link.
    return undefined;
  }
}

/** Stores the progress for this tab. */
export function saveProgress(progress: RecipientProgress): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(progress));
}

/** Deletes the progress of this tab. */
export function clearProgress(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
