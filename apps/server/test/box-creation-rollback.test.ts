import { join } from 'node:path';
import type { BoxCreation, Problem } from '@provisions/api';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newBoxKeys, newProvision, sealInvitation } from './support/box-material.js';
import { useTestServer } from './support/test-server.js';

// A box creation that fails halfway must leave nothing behind. The test adds a
// SQLite trigger to the server's database file from outside. The trigger aborts the
// insert of the crypto action for one chosen key, but only once the box, the
// provision and another crypto action of the same box are written in the same
// transaction. The server runs unchanged and gets a real SQLite error.

const TRIGGER_NAME = 'fail_invitation_after_partial_write';

const fixture = useTestServer();

function openDatabaseFile(): Database.Database {
  return new Database(join(fixture.server.dataDir, 'provisions.sqlite'));
}

/** Adds the trigger that aborts the invitation to `failingKey` after the other rows of the box. */
function addFailingTrigger(failingKey: string, provisionKey: string): void {
  const db = openDatabaseFile();
  try {
    db.exec(`
      CREATE TRIGGER ${TRIGGER_NAME}
      BEFORE INSERT ON crypto_actions
      WHEN NEW.encryption_public_key = '${failingKey}'
        AND EXISTS (SELECT 1 FROM boxes WHERE id = NEW.box_id)
        AND EXISTS (SELECT 1 FROM provisions WHERE public_key = '${provisionKey}')
        AND EXISTS (SELECT 1 FROM crypto_actions WHERE box_id = NEW.box_id)
      BEGIN
        SELECT RAISE(ABORT, 'injected failure after partial box creation');
      END;
    `);
  } finally {
    db.close();
  }
}

function dropFailingTrigger(): void {
  const db = openDatabaseFile();
  try {
    db.exec(`DROP TRIGGER ${TRIGGER_NAME}`);
  } finally {
    db.close();
  }
}

/** Counts the rows that a box creation writes, by reading the database file. */
function countWrittenRows(boxPublicKey: string, provisionKey: string, idempotencyKey: string) {
  const db = openDatabaseFile();
  try {
    const count = (sql: string, value: string): number =>
      db.prepare(sql).pluck().get(value) as number;
    return {
      boxes: count('SELECT count(*) FROM boxes WHERE public_key = ?', boxPublicKey),
      provisions: count('SELECT count(*) FROM provisions WHERE public_key = ?', provisionKey),
      cryptoActions: count(
        'SELECT count(*) FROM crypto_actions WHERE box_id IN (SELECT id FROM boxes WHERE public_key = ?)',
        boxPublicKey,
      ),
      allCryptoActions: db.prepare('SELECT count(*) FROM crypto_actions').pluck().get() as number,
      idempotencyKeys: count('SELECT count(*) FROM idempotency_keys WHERE key = ?', idempotencyKey),
    };
  } finally {
    db.close();
  }
}

describe('box creation failing after partial writes', () => {
  it('rolls back, then succeeds on retry', async () => {
    const person = await fixture.server.signIn();
    const personKeys = await newBoxKeys();
    await person.client.PUT('/identities/me/public-key', {
      body: { public_key: personKeys.publicKey },
    });

    const box = await newBoxKeys();
    const provision = await newProvision();
    const email = fixture.server.newEmail();
    const provisionKey = provision.payload.public_key;
    // The provision's invitation comes first, so its crypto action is written
    // before the failing one.
    const body: BoxCreation = {
      title: 'Half-written box',
      public_key: box.publicKey,
      crypto: {
        invitation_data: {
          [provisionKey]: await sealInvitation(box, provisionKey),
          [personKeys.publicKey]: await sealInvitation(box, personKeys.publicKey),
        },
        provisions: { [email]: { ...provision.payload } },
      },
    };
    const idempotencyKey = 'rollback-check-1';
    const send = () =>
      fixture.organization.client.POST('/organizations/{oid}/boxes', {
        params: {
          path: { oid: fixture.organization.id },
          header: { 'Idempotency-Key': idempotencyKey },
        },
        body,
      });
    const actionsBefore = await fixture.server.countRows('crypto_actions');

    addFailingTrigger(personKeys.publicKey, provisionKey);
    const failed = await send();

    expect(failed.response.status).toBe(500);
    expect(failed.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = failed.error as Problem;
    expect(problem.type).toBe('urn:provisions:problem:internal-error');
    expect(problem.instance).toBe(failed.response.headers.get('x-request-id'));
    const answer = JSON.stringify(problem);
    for (const internal of ['injected', 'trigger', 'SQLITE', 'sqlite', 'crypto_actions', 'Error']) {
      expect(answer).not.toContain(internal);
    }
    expect(answer).not.toMatch(/:\d+:\d+/);

    expect(countWrittenRows(box.publicKey, provisionKey, idempotencyKey)).toEqual({
      boxes: 0,
      provisions: 0,
      cryptoActions: 0,
      allCryptoActions: actionsBefore,
      idempotencyKeys: 0,
    });
    const lookup = await fixture.organization.client.GET('/identities/public-keys', {
      params: { query: { identifier: email } },
    });
    expect(lookup.data?.provisions ?? []).toEqual([]);
    const invitations = await person.client.GET('/crypto/actions');
    expect(invitations.data?.items).toEqual([]);

    dropFailingTrigger();
    const retried = await send();

    expect(retried.response.status).toBe(201);
    expect(retried.response.headers.get('idempotent-replayed')).toBeNull();
    expect(retried.data?.public_key).toBe(box.publicKey);
    expect(countWrittenRows(box.publicKey, provisionKey, idempotencyKey)).toEqual({
      boxes: 1,
      provisions: 1,
      cryptoActions: 2,
      allCryptoActions: actionsBefore + 2,
      idempotencyKeys: 1,
    });
  });
});
