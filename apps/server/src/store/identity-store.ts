import type { SqliteDatabase } from '../database/open-database.js';

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
  readonly #insert;
  readonly #findById;
  readonly #findByEmail;
  readonly #findByPublicKey;
  readonly #setPublicKey;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<IdentityRecord>(
      `INSERT INTO identities (${COLUMNS}) VALUES (@id, @email, @public_key, @created_at)`,
    );
    this.#findById = db.prepare<[string], IdentityRecord>(
      `SELECT ${COLUMNS} FROM identities WHERE id = ?`,
    );
    this.#findByEmail = db.prepare<[string], IdentityRecord>(
      `SELECT ${COLUMNS} FROM identities WHERE email = ?`,
    );
    this.#findByPublicKey = db.prepare<[string], IdentityRecord>(
      `SELECT ${COLUMNS} FROM identities WHERE public_key = ?`,
    );
    this.#setPublicKey = db.prepare<[string, string]>(
      'UPDATE identities SET public_key = ? WHERE id = ?',
    );
  }

  /** Inserts an identity. */
  insert(record: IdentityRecord): void {
    this.#insert.run(record);
  }

  /** Finds an identity by id. */
  findById(id: string): IdentityRecord | undefined {
    return this.#findById.get(id);
  }

  /** Finds an identity by normalized email address. */
  findByEmail(email: string): IdentityRecord | undefined {
    return this.#findByEmail.get(email);
  }

  /** Finds the identity whose identity public key this is. */
  findByPublicKey(publicKey: string): IdentityRecord | undefined {
    return this.#findByPublicKey.get(publicKey);
  }

  /** Sets the identity public key of an identity. */
  setPublicKey(id: string, publicKey: string): void {
    this.#setPublicKey.run(publicKey, id);
  }
}
