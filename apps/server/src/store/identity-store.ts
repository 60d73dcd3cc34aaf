import type { SqlClient } from '../database/sql-client.js';

/** A person's account, as the API returns it. */
export interface IdentityRecord {
  id: string;
  email: string;
  public_key: string | null;
  created_at: string;
}

const COLUMNS = 'id, email, public_key, created_at';

/** Reads and writes identities. */
export class IdentityStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts an identity. */
  async insert(record: IdentityRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO identities (${COLUMNS}) VALUES (@id, @email, @public_key, @created_at)`,
      { ...record },
    );
  }

  /** Finds an identity by id. */
  findById(id: string): Promise<IdentityRecord | undefined> {
    return this.#sql.get<IdentityRecord>(`SELECT ${COLUMNS} FROM identities WHERE id = ?`, [id]);
  }

  /** Finds an identity by normalized email address. */
  findByEmail(email: string): Promise<IdentityRecord | undefined> {
    return this.#sql.get<IdentityRecord>(`SELECT ${COLUMNS} FROM identities WHERE email = ?`, [
      email,
    ]);
  }

  /** Finds the identity whose identity public key this is. */
  findByPublicKey(publicKey: string): Promise<IdentityRecord | undefined> {
    return this.#sql.get<IdentityRecord>(`SELECT ${COLUMNS} FROM identities WHERE public_key = ?`, [
      publicKey,
    ]);
  }

  /** Sets the identity public key of an identity. */
  async setPublicKey(id: string, publicKey: string): Promise<void> {
    await this.#sql.run('UPDATE identities SET public_key = ? WHERE id = ?', [publicKey, id]);
  }
}
