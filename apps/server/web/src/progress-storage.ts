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

/**
 * Returns this tab's `sessionStorage`, or undefined when the browser blocks it. Chromium
 * (checked with 156) throws a `SecurityError` on reading `window.sessionStorage` when the
 * person blocks cookies and site data, and the page must still work then.
 */
function tabStorage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

/**
 * Tells whether progress survives a reload. It does not when the browser blocks
 * `sessionStorage`, or when writing to it fails.
 */
export function canKeepProgress(): boolean {
  const storage = tabStorage();
  if (storage === undefined) {
    return false;
  }

  const probeKey = `${STORAGE_KEY}.probe`;
  try {
    storage.setItem(probeKey, '');
    storage.removeItem(probeKey);
    return true;
  } catch {
    return false;
  }
}

/** Returns the stored progress, or undefined when there is none or it is not readable. */
export function loadProgress(): RecipientProgress | undefined {
  let text: string | null;
  try {
    text = tabStorage()?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return undefined;
  }
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

/**
 * Stores the progress for this tab. Where storage is blocked or full, the progress stays
 * in memory only.
 */
export function saveProgress(progress: RecipientProgress): void {
  try {
    tabStorage()?.setItem(STORAGE_KEY, JSON.stringify(progress));
  } catch {
    // A full or blocked storage: the page goes on, and a reload loses the progress.
  }
}

/** Deletes the progress of this tab. */
export function clearProgress(): void {
  try {
    tabStorage()?.removeItem(STORAGE_KEY);
  } catch {
    // Nothing could be stored either, so nothing is left to delete.
  }
}
