import type { SqlClient } from '../database/sql-client.js';

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
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts a box. */
  async insert(record: BoxRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO boxes (${COLUMNS})
       VALUES (@id, @organization_id, @title, @public_key, @data_subject, @created_at)`,
      { ...record },
    );
  }

  /** Finds a box by id. */
  findById(id: string): Promise<BoxRecord | undefined> {
    return this.#sql.get<BoxRecord>(`SELECT ${COLUMNS} FROM boxes WHERE id = ?`, [id]);
  }

  /** Returns the id of the `member.join` event of a member, or undefined for a non-member. */
  async findJoinEventId(boxId: string, identityId: string): Promise<string | undefined> {
    const row = await this.#sql.get<{ join_event_id: string }>(
      'SELECT join_event_id FROM box_members WHERE box_id = ? AND identity_id = ?',
      [boxId, identityId],
    );
    return row?.join_event_id;
  }

  /** Records that an identity joined a box with the given `member.join` event. */
  async addMember(boxId: string, identityId: string, joinEventId: string): Promise<void> {
    await this.#sql.run(
      'INSERT INTO box_members (box_id, identity_id, join_event_id) VALUES (?, ?, ?)',
      [boxId, identityId, joinEventId],
    );
  }
}
