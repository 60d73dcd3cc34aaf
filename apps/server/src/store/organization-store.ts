import type { SqliteDatabase } from '../database/open-database.js';

/** An organization row, with its client secret hash. */
export interface OrganizationRecord {
  id: string;
  name: string;
  client_secret_hash: Buffer;
  created_at: string;
}

/** Reads and writes organizations. */
export class OrganizationStore {
  readonly #insert;
  readonly #findById;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<OrganizationRecord>(
      `INSERT INTO organizations (id, name, client_secret_hash, created_at)
       VALUES (@id, @name, @client_secret_hash, @created_at)`,
    );
    this.#findById = db.prepare<[string], OrganizationRecord>(
      'SELECT id, name, client_secret_hash, created_at FROM organizations WHERE id = ?',
    );
  }

  /** Inserts an organization. */
  insert(record: OrganizationRecord): void {
    this.#insert.run(record);
  }

  /** Finds an organization by id. */
  findById(id: string): OrganizationRecord | undefined {
    return this.#findById.get(id);
  }
}
