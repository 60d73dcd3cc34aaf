import type { SqlClient } from '../database/sql-client.js';

/** The content of a `msg.text` event: text sealed to the box public key. */
export interface TextMessageContent {
  encrypted: string;
  public_key: string;
}

/** A box event, as the API returns it. */
export interface BoxEventRecord {
  id: string;
  box_id: string;
  type: 'msg.text' | 'member.join';
  content: TextMessageContent | null;
  sender: { type: 'organization' | 'identity'; id: string };
  created_at: string;
}

interface BoxEventRow {
  position: number;
  id: string;
  box_id: string;
  type: 'msg.text' | 'member.join';
  content: string | null;
  sender_type: 'organization' | 'identity';
  sender_id: string;
  created_at: string;
}

/** A box event with its position, the order in which events were posted. */
export interface PositionedBoxEvent extends BoxEventRecord {
  position: number;
}

const COLUMNS = 'position, id, box_id, type, content, sender_type, sender_id, created_at';

/** Reads and writes box events. */
export class BoxEventStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts an event at the next position. */
  async insert(event: BoxEventRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO box_events (id, box_id, type, content, sender_type, sender_id, created_at)
       VALUES (@id, @box_id, @type, @content, @sender_type, @sender_id, @created_at)`,
      {
        id: event.id,
        box_id: event.box_id,
        type: event.type,
        content: event.content === null ? null : JSON.stringify(event.content),
        sender_type: event.sender.type,
        sender_id: event.sender.id,
        created_at: event.created_at,
      },
    );
  }

  /** Finds an event by id. */
  async findById(id: string): Promise<PositionedBoxEvent | undefined> {
    const row = await this.#sql.get<BoxEventRow>(`SELECT ${COLUMNS} FROM box_events WHERE id = ?`, [
      id,
    ]);
    return row === undefined ? undefined : toEvent(row);
  }

  /** Lists a box's events oldest first, after a position. */
  async list(boxId: string, page: { after: number; limit: number }): Promise<PositionedBoxEvent[]> {
    const rows = await this.#sql.all<BoxEventRow>(
      `SELECT ${COLUMNS} FROM box_events
       WHERE box_id = @boxId AND position > @after ORDER BY position LIMIT @limit`,
      { boxId, ...page },
    );
    return rows.map(toEvent);
  }
}

function toEvent(row: BoxEventRow): PositionedBoxEvent {
  return {
    position: row.position,
    id: row.id,
    box_id: row.box_id,
    type: row.type,
    content: row.content === null ? null : (JSON.parse(row.content) as TextMessageContent),
    sender: { type: row.sender_type, id: row.sender_id },
    created_at: row.created_at,
  };
}
