import type { SqlClient } from '../database/sql-client.js';

/** An organization row, with its client secret hash. */
export interface OrganizationRecord {
  id: string;
  name: string;
  client_secret_hash: Buffer;
  created_at: string;
}

/** Reads and writes organizations. */
export class OrganizationStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts an organization. */
  async insert(record: OrganizationRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO organizations (id, name, client_secret_hash, created_at)
       VALUES (@id, @name, @client_secret_hash, @created_at)`,
      { ...record },
    );
  }

  /** Finds an organization by id. */
  findById(id: string): Promise<OrganizationRecord | undefined> {
    return this.#sql.get<OrganizationRecord>(
      'SELECT id, name, client_secret_hash, created_at FROM organizations WHERE id = ?',
      [id],
    );
  }
}
