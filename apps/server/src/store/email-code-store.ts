import type { SqlClient } from '../database/sql-client.js';

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
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Stores a new code for the address, replacing any earlier one and its failure count. */
  async replace(record: Omit<EmailCodeRecord, 'failed_attempts'>): Promise<void> {
    await this.#sql.run(
      `INSERT INTO email_codes (email, code_hash, expires_at, failed_attempts)
       VALUES (@email, @code_hash, @expires_at, 0)
       ON CONFLICT (email) DO UPDATE SET
         code_hash = excluded.code_hash, expires_at = excluded.expires_at, failed_attempts = 0`,
      { ...record },
    );
  }

  /** Puts back a code read earlier with {@link find}, with its expiry and failure count. */
  async restore(record: EmailCodeRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO email_codes (email, code_hash, expires_at, failed_attempts)
       VALUES (@email, @code_hash, @expires_at, @failed_attempts)
       ON CONFLICT (email) DO UPDATE SET
         code_hash = excluded.code_hash, expires_at = excluded.expires_at,
         failed_attempts = excluded.failed_attempts`,
      { ...record },
    );
  }

  /** Finds the pending code of an address. */
  find(email: string): Promise<EmailCodeRecord | undefined> {
    return this.#sql.get<EmailCodeRecord>(
      'SELECT email, code_hash, expires_at, failed_attempts FROM email_codes WHERE email = ?',
      [email],
    );
  }

  /** Counts one more wrong code for the address. */
  async recordFailure(email: string): Promise<void> {
    await this.#sql.run(
      'UPDATE email_codes SET failed_attempts = failed_attempts + 1 WHERE email = ?',
      [email],
    );
  }

  /** Deletes the pending code of an address. */
  async delete(email: string): Promise<void> {
    await this.#sql.run('DELETE FROM email_codes WHERE email = ?', [email]);
  }

  /** Records that a code was requested for the address at `requestedAt` (milliseconds). */
  async recordRequest(email: string, requestedAt: number): Promise<void> {
    await this.#sql.run('INSERT INTO email_code_requests (email, requested_at) VALUES (?, ?)', [
      email,
      requestedAt,
    ]);
  }

  /**
   * Deletes the record of a code request for the address at `requestedAt` (milliseconds).
   *
   * NOTE: two requests for one address in the same millisecond have equal records, and
   * both are deleted.
   */
  async deleteRequest(email: string, requestedAt: number): Promise<void> {
    await this.#sql.run('DELETE FROM email_code_requests WHERE email = ? AND requested_at = ?', [
      email,
      requestedAt,
    ]);
  }

  /** Lists the request times (milliseconds) for an address after `since`, oldest first. */
  async listRequestsSince(email: string, since: number): Promise<number[]> {
    const rows = await this.#sql.all<{ requested_at: number }>(
      `SELECT requested_at FROM email_code_requests
       WHERE email = ? AND requested_at > ? ORDER BY requested_at`,
      [email, since],
    );
    return rows.map((row) => row.requested_at);
  }

  /** Deletes request records at or before `before` (milliseconds), for every address. */
  async deleteRequestsBefore(before: number): Promise<void> {
    await this.#sql.run('DELETE FROM email_code_requests WHERE requested_at <= ?', [before]);
  }
}
