import type { SqliteDatabase } from '../database/open-database.js';

/** The pending sign-in code of one email address. */
export interface EmailCodeRecord {
  email: string;
  code_hash: Buffer;
  /** Milliseconds since the Unix epoch. */
  expires_at: number;
  failed_attempts: number;
}

/** Reads and writes sign-in codes and the log of code requests used for rate limiting. */
export class EmailCodeStore {
  readonly #replace;
  readonly #find;
  readonly #recordFailure;
  readonly #delete;
  readonly #insertRequest;
  readonly #listRequestsSince;
  readonly #deleteRequestsBefore;

  constructor(db: SqliteDatabase) {
    this.#replace = db.prepare<Omit<EmailCodeRecord, 'failed_attempts'>>(
      `INSERT INTO email_codes (email, code_hash, expires_at, failed_attempts)
       VALUES (@email, @code_hash, @expires_at, 0)
       ON CONFLICT (email) DO UPDATE SET
         code_hash = excluded.code_hash, expires_at = excluded.expires_at, failed_attempts = 0`,
    );
    this.#find = db.prepare<[string], EmailCodeRecord>(
      'SELECT email, code_hash, expires_at, failed_attempts FROM email_codes WHERE email = ?',
    );
    this.#recordFailure = db.prepare<[string]>(
      'UPDATE email_codes SET failed_attempts = failed_attempts + 1 WHERE email = ?',
    );
    this.#delete = db.prepare<[string]>('DELETE FROM email_codes WHERE email = ?');
    this.#insertRequest = db.prepare<[string, number]>(
      'INSERT INTO email_code_requests (email, requested_at) VALUES (?, ?)',
    );
    this.#listRequestsSince = db
      .prepare<[string, number], number>(
        `SELECT requested_at FROM email_code_requests
         WHERE email = ? AND requested_at > ? ORDER BY requested_at`,
      )
      .pluck();
    this.#deleteRequestsBefore = db.prepare<[number]>(
      'DELETE FROM email_code_requests WHERE requested_at <= ?',
    );
  }

  /** Stores a new code for the address, replacing any earlier one and its failure count. */
  replace(record: Omit<EmailCodeRecord, 'failed_attempts'>): void {
    this.#replace.run(record);
  }

  /** Finds the pending code of an address. */
  find(email: string): EmailCodeRecord | undefined {
    return this.#find.get(email);
  }

  /** Counts one more wrong code for the address. */
  recordFailure(email: string): void {
    this.#recordFailure.run(email);
  }

  /** Deletes the pending code of an address. */
  delete(email: string): void {
    this.#delete.run(email);
  }

  /** Records that a code was requested for the address at `requestedAt` (milliseconds). */
  recordRequest(email: string, requestedAt: number): void {
    this.#insertRequest.run(email, requestedAt);
  }

  /** Lists the request times (milliseconds) for an address after `since`, oldest first. */
  listRequestsSince(email: string, since: number): number[] {
    return this.#listRequestsSince.all(email, since);
  }

  /** Deletes request records at or before `before` (milliseconds), for every address. */
  deleteRequestsBefore(before: number): void {
    this.#deleteRequestsBefore.run(before);
  }
}
