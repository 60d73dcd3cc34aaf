import { describe, expect, it } from 'vitest';
import { toPostgresQuery } from '../src/database/postgres-placeholders.js';

describe('toPostgresQuery', () => {
  it('numbers ? placeholders in order', () => {
    const query = toPostgresQuery('SELECT a FROM t WHERE b = ? AND c > ?', ['x', 2]);

    expect(query).toEqual({ text: 'SELECT a FROM t WHERE b = $1 AND c > $2', values: ['x', 2] });
  });

  it('gives a repeated @name one number', () => {
    const query = toPostgresQuery('SELECT 1 WHERE @id = a OR @email = b OR @id = c', {
      email: 'e@example.com',
      id: 'i',
      unused: 3,
    });

    expect(query.text).toBe('SELECT 1 WHERE $1 = a OR $2 = b OR $1 = c');
    expect(query.values).toEqual(['i', 'e@example.com']);
  });

  it('binds null and Buffer values as they are', () => {
    const bytes = Buffer.from([1, 2]);
    const query = toPostgresQuery('INSERT INTO t VALUES (@a, @b)', { a: null, b: bytes });

    expect(query.values[0]).toBeNull();
    expect(query.values[1]).toBe(bytes);
  });

  it('rejects a missing named parameter', () => {
    expect(() => toPostgresQuery('SELECT @missing', {})).toThrow(
      'SQL parameter @missing has no value',
    );
  });
});
