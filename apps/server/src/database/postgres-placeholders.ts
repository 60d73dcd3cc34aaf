import type { SqlParams, SqlValue } from './sql-client.js';

/** A statement with PostgreSQL's `$1`, `$2`, … placeholders, and how to fill them. */
interface TranslatedStatement {
  text: string;
  /** For `@name` placeholders: the parameter name of `$1`, `$2`, …; empty for `?`. */
  names: readonly string[];
}

const NAMED_PLACEHOLDER = /@([A-Za-z_][A-Za-z0-9_]*)/g;
const translations = new Map<string, TranslatedStatement>();

/**
 * Rewrites the portable placeholders of {@link SqlParams} (`?` in order, or
 * `@name`) into PostgreSQL's numbered ones and returns the values in that order.
 * A name used twice gets one number. The SQL of this server has no `?` or `@`
 * inside string literals, which this rewrite does not parse.
 *
 * @throws Error when an `@name` placeholder has no value in `params`.
 * @example
 * toPostgresQuery('SELECT * FROM t WHERE a = @a OR b = @a', { a: 1 });
 * // { text: 'SELECT * FROM t WHERE a = $1 OR b = $1', values: [1] }
 */
export function toPostgresQuery(
  sql: string,
  params: SqlParams = [],
): { text: string; values: SqlValue[] } {
  const translated = translate(sql);
  if (Array.isArray(params)) {
    return { text: translated.text, values: [...params] };
  }

  const named = params as Readonly<Record<string, SqlValue>>;
  const values = translated.names.map((name) => {
    const value = named[name];
    if (value === undefined) {
      throw new Error(`SQL parameter @${name} has no value`);
    }
    return value;
  });
  return { text: translated.text, values };
}

function translate(sql: string): TranslatedStatement {
  let translated = translations.get(sql);
  if (translated !== undefined) {
    return translated;
  }

  const names: string[] = [];
  let text: string;
  if (sql.includes('@')) {
    text = sql.replace(NAMED_PLACEHOLDER, (_match, name: string) => {
      let index = names.indexOf(name);
      if (index === -1) {
        index = names.push(name) - 1;
      }
      return `$${index + 1}`;
    });
  } else {
    let count = 0;
    text = sql.replace(/\?/g, () => {
      count += 1;
      return `$${count}`;
    });
  }

  translated = { text, names };
  translations.set(sql, translated);
  return translated;
}
