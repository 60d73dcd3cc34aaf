import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from '../errors/http-problem.js';

/** Length in bytes of the key that signs cursors. */
export const CURSOR_KEY_LENGTH = 32;

/** Bytes of a cursor: the position as a 64-bit unsigned integer, then the tag. */
const POSITION_LENGTH = 8;

/** Bytes of the HMAC-SHA-256 kept in a cursor: 128 bits, too many to guess. */
const TAG_LENGTH = 16;

/** Characters of a cursor in unpadded base64url: 24 bytes. */
const CURSOR_TEXT = /^[A-Za-z0-9_-]{32}$/;

/**
 * The listing a cursor belongs to: the operation, the caller and the filter. A
 * cursor made for one scope is rejected in any other.
 */
export interface CursorScope {
  /** Operation id, such as `listBoxEvents`. */
  operation: string;
  /** The caller, such as `identity:<id>` or `organization:<id>`. */
  caller: string;
  /** The listing's filter, such as the box id; empty when it has none. */
  filter: string;
}

/**
 * Makes and checks the opaque `next_cursor` values of paginated listings. A cursor
 * is the position of the last item of a page followed by a truncated HMAC-SHA-256,
 * under a key of this server, of the position and the {@link CursorScope}. So a
 * client cannot forge a position, and a cursor from another listing, another caller
 * or another server is rejected.
 *
 * @example
 * const cursors = new PageCursors(key);
 * const scope = { operation: 'listBoxEvents', caller: 'identity:7f…', filter: boxId };
 * const after = cursors.decode(request.query.cursor, scope); // 0 without a cursor
 */
export class PageCursors {
  readonly #key: Buffer;

  /** @throws RangeError unless the key is {@link CURSOR_KEY_LENGTH} bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== CURSOR_KEY_LENGTH) {
      throw new RangeError(
        `cursor key must be ${CURSOR_KEY_LENGTH} bytes, received ${key.length} bytes`,
      );
    }
    this.#key = Buffer.from(key);
  }

  /** Encodes a position for a scope as a 32-character base64url cursor. */
  encode(position: number, scope: CursorScope): string {
    const positionBytes = Buffer.alloc(POSITION_LENGTH);
    positionBytes.writeBigUInt64BE(BigInt(position));
    return Buffer.concat([positionBytes, this.#tag(positionBytes, scope)]).toString('base64url');
  }

  /**
   * Decodes a `cursor` query parameter into the position to list after; no cursor is 0.
   *
   * @throws HttpProblem `invalidRequest` naming the `cursor` parameter when the cursor
   * was not made by this server for this scope.
   */
  decode(cursor: string | undefined, scope: CursorScope): number {
    if (cursor === undefined) {
      return 0;
    }

    const bytes = CURSOR_TEXT.test(cursor) ? Buffer.from(cursor, 'base64url') : Buffer.alloc(0);
    if (bytes.length !== POSITION_LENGTH + TAG_LENGTH) {
      throw invalidCursor();
    }
    const positionBytes = bytes.subarray(0, POSITION_LENGTH);
    if (!timingSafeEqual(bytes.subarray(POSITION_LENGTH), this.#tag(positionBytes, scope))) {
      throw invalidCursor();
    }

    const position = positionBytes.readBigUInt64BE();
    if (position < 1n || position > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalidCursor();
    }
    return Number(position);
  }

  #tag(positionBytes: Buffer, scope: CursorScope): Buffer {
    // JSON keeps the fields apart whatever characters they contain.
    const context = JSON.stringify(['page-cursor', scope.operation, scope.caller, scope.filter]);
    return createHmac('sha256', this.#key)
      .update(context)
      .update(positionBytes)
      .digest()
      .subarray(0, TAG_LENGTH);
  }
}

function invalidCursor(): HttpProblem {
  return new HttpProblem(
    'invalidRequest',
    'cursor is invalid for this listing; pass the next_cursor of its previous page unchanged',
    {
      errors: [
        {
          parameter: 'cursor',
          detail: 'must be a next_cursor value from a previous page of the same listing',
        },
      ],
    },
  );
}

/**
 * Cuts a page from rows fetched with `limit + 1`: returns at most `limit` items
 * without their position, and the cursor after the last one when more rows follow,
 * else null.
 *
 * @param encode - Makes the cursor for a position, such as {@link PageCursors.encode} with the listing's scope.
 */
export function paginate<T extends { position: number }>(
  rows: T[],
  limit: number,
  encode: (position: number) => string,
): { items: Omit<T, 'position'>[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next_cursor = rows.length > limit && last !== undefined ? encode(last.position) : null;
  const items = page.map(({ position: _position, ...item }) => item);
  return { items, next_cursor };
}
