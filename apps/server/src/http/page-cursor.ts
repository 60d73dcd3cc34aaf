import { HttpProblem } from '../errors/http-problem.js';

const CURSOR_PREFIX = 'after:';

/**
 * Encodes the position of the last item of a page as an opaque `next_cursor`
 * (unpadded base64url). Clients pass it back unchanged as `cursor`.
 *
 * @example
 * encodeCursor(42); // 'YWZ0ZXI6NDI'
 */
export function encodeCursor(position: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${position}`).toString('base64url');
}

/**
 * Decodes a `cursor` query parameter into the position to list after; no cursor is 0.
 *
 * @throws HttpProblem `invalidRequest` naming the `cursor` parameter when it was not made by
 * {@link encodeCursor}.
 */
export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) {
    return 0;
  }

  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const digits = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : '';
  const position = /^[1-9][0-9]{0,15}$/.test(digits) ? Number(digits) : Number.NaN;

  if (!Number.isSafeInteger(position) || encodeCursor(position) !== cursor) {
    throw new HttpProblem(
      'invalidRequest',
      'cursor is invalid; pass a next_cursor value unchanged',
      {
        errors: [
          { parameter: 'cursor', detail: 'must be a next_cursor value from a previous page' },
        ],
      },
    );
  }
  return position;
}

/**
 * Cuts a page from rows fetched with `limit + 1`: returns at most `limit` items
 * without their position, and the cursor after the last one when more rows follow,
 * else null.
 */
export function paginate<T extends { position: number }>(
  rows: T[],
  limit: number,
): { items: Omit<T, 'position'>[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next_cursor =
    rows.length > limit && last !== undefined ? encodeCursor(last.position) : null;
  const items = page.map(({ position: _position, ...item }) => item);
  return { items, next_cursor };
}
