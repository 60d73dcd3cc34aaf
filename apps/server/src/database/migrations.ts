/**
 * The database schema, one entry per version. Entry `i` moves the database from
 * `PRAGMA user_version = i` to `i + 1`. Entries are never edited once released;
 * a change to the schema is a new entry at the end.
 *
 * Times that are compared (expiries) are integers in milliseconds since the
 * Unix epoch; times that are only returned are RFC 3339 strings in UTC.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client_secret_hash BLOB NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    public_key TEXT UNIQUE,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY,
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    identity_id TEXT REFERENCES identities (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    CHECK ((organization_id IS NULL) <> (identity_id IS NULL))
  ) STRICT;
  CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

  CREATE TABLE email_codes (
    email TEXT PRIMARY KEY,
    code_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  CREATE TABLE email_code_requests (
    email TEXT NOT NULL,
    requested_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX email_code_requests_by_email ON email_code_requests (email, requested_at);

  CREATE TABLE provisions (
    public_key TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    misakey_key_share TEXT NOT NULL,
    user_key_share_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  ) STRICT;
  CREATE UNIQUE INDEX provisions_one_active_per_email
    ON provisions (organization_id, email) WHERE revoked_at IS NULL;
  CREATE INDEX provisions_by_email ON provisions (email);

  CREATE TABLE boxes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    title TEXT NOT NULL,
    public_key TEXT NOT NULL,
    data_subject TEXT,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE crypto_actions (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    box_id TEXT NOT NULL REFERENCES boxes (id),
    encryption_public_key TEXT NOT NULL,
    encrypted TEXT NOT NULL,
    identity_id TEXT REFERENCES identities (id),
    provision_public_key TEXT REFERENCES provisions (public_key),
    created_at TEXT NOT NULL,
    acknowledged_at TEXT,
    CHECK ((identity_id IS NULL) <> (provision_public_key IS NULL))
  ) STRICT;
  CREATE INDEX crypto_actions_by_identity ON crypto_actions (identity_id, position);
  CREATE INDEX crypto_actions_by_provision ON crypto_actions (provision_public_key, position);
  CREATE INDEX crypto_actions_by_box ON crypto_actions (box_id);

  CREATE TABLE box_members (
    box_id TEXT NOT NULL REFERENCES boxes (id),
    identity_id TEXT NOT NULL REFERENCES identities (id),
    join_event_id TEXT NOT NULL,
    PRIMARY KEY (box_id, identity_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE box_events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    box_id TEXT NOT NULL REFERENCES boxes (id),
    type TEXT NOT NULL CHECK (type IN ('msg.text', 'member.join')),
    content TEXT,
    sender_type TEXT NOT NULL CHECK (sender_type IN ('organization', 'identity')),
    sender_id TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX box_events_by_box ON box_events (box_id, position);

  CREATE TABLE idempotency_keys (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (organization_id, key)
  ) STRICT, WITHOUT ROWID;
  `,
  // Every keyed box creation deletes the expired keys first. Without this index
  // that DELETE scans the whole table, so n creations cost O(n²) work.
  `
  CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
  `,
];
