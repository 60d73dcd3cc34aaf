import type { SqliteDatabase } from '../database/open-database.js';

/** A box, as the API returns it. */
export interface BoxRecord {
  id: string;
  organization_id: string;
  title: string;
  public_key: string;
  data_subject: string | null;
  created_at: string;
}

const COLUMNS = 'id, organization_id, title, public_key, data_subject, created_at';

/** Reads and writes boxes and their members. */
export class BoxStore {
  readonly #insert;
  readonly #findById;
  readonly #findJoinEventId;
  readonly #insertMember;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<BoxRecord>(
      `INSERT INTO boxes (${COLUMNS})
       VALUES (@id, @organization_id, @title, @public_key, @data_subject, @created_at)`,
    );
    this.#findById = db.prepare<[string], BoxRecord>(`SELECT ${COLUMNS} FROM boxes WHERE id = ?`);
    this.#findJoinEventId = db
      .prepare<[string, string], string>(
        'SELECT join_event_id FROM box_members WHERE box_id = ? AND identity_id = ?',
      )
      .pluck();
    this.#insertMember = db.prepare<[string, string, string]>(
      'INSERT INTO box_members (box_id, identity_id, join_event_id) VALUES (?, ?, ?)',
    );
  }

  /** Inserts a box. */
  insert(record: BoxRecord): void {
    this.#insert.run(record);
  }

  /** Finds a box by id. */
  findById(id: string): BoxRecord | undefined {
    return this.#findById.get(id);
  }

  /** Returns the id of the `member.join` event of a member, or undefined for a non-member. */
  findJoinEventId(boxId: string, identityId: string): string | undefined {
    return this.#findJoinEventId.get(boxId, identityId);
  }

  /** Records that an identity joined a box with the given `member.join` event. */
  addMember(boxId: string, identityId: string, joinEventId: string): void {
    this.#insertMember.run(boxId, identityId, joinEventId);
  }
}
