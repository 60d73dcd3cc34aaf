import type { SqliteDatabase } from '../database/open-database.js';

/** The first result of a request sent with an `Idempotency-Key`. */
export interface IdempotencyRecord {
  organization_id: string;
  key: string;
  /** SHA-256 of the canonical JSON of the request body. */
  request_hash: Buffer;
  response_status: number;
  /** The response body as JSON text. */
  response_body: string;
  /** Milliseconds since the Unix epoch. */
  expires_at: number;
}

/** Reads and writes idempotency keys. */
export class IdempotencyKeyStore {
  readonly #insert;
  readonly #find;
  readonly #deleteExpired;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<IdempotencyRecord>(
      `INSERT INTO idempotency_keys
         (organization_id, key, request_hash, response_status, response_body, expires_at)
       VALUES (@organization_id, @key, @request_hash, @response_status, @response_body, @expires_at)`,
    );
    this.#find = db.prepare<[string, string, number], IdempotencyRecord>(
      `SELECT organization_id, key, request_hash, response_status, response_body, expires_at
       FROM idempotency_keys WHERE organization_id = ? AND key = ? AND expires_at > ?`,
    );
    this.#deleteExpired = db.prepare<[number]>(
      'DELETE FROM idempotency_keys WHERE expires_at <= ?',
    );
  }

  /** Inserts the first result of a key. */
  insert(record: IdempotencyRecord): void {
    this.#insert.run(record);
  }

  /** Finds the unexpired result stored for an organization's key at `nowMs`. */
  find(organizationId: string, key: string, nowMs: number): IdempotencyRecord | undefined {
    return this.#find.get(organizationId, key, nowMs);
  }

  /** Deletes every key that expired at or before `nowMs`. */
  deleteExpired(nowMs: number): void {
    this.#deleteExpired.run(nowMs);
  }
}
