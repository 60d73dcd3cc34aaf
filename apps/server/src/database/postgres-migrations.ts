/**
 * The PostgreSQL schema, one entry per version, mirroring the SQLite entries of
 * `migrations.ts` version for version. Entry `i` moves the database from version
 * `i` to `i + 1`, where the version is the highest row of `schema_migrations`.
 * Entries are never edited once released; a change is a new entry at the end of
 * both lists.
 *
 * The types match what the stores read back from SQLite: `bytea` for `BLOB`,
 * `bigint` for integer milliseconds and positions, `text` for RFC 3339 times.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE organizations (
    id text PRIMARY KEY,
    name text NOT NULL,
    client_secret_hash bytea NOT NULL,
    created_at text NOT NULL
  );

  CREATE TABLE identities (
    id text PRIMARY KEY,
    email text NOT NULL UNIQUE,
    public_key text UNIQUE,
    created_at text NOT NULL
  );

  CREATE TABLE access_tokens (
    token_hash bytea PRIMARY KEY,
    organization_id text REFERENCES organizations (id) ON DELETE CASCADE,
    identity_id text REFERENCES identities (id) ON DELETE CASCADE,
    expires_at bigint NOT NULL,
    CHECK ((organization_id IS NULL) <> (identity_id IS NULL))
  );
  CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

  CREATE TABLE email_codes (
    email text PRIMARY KEY,
    code_hash bytea NOT NULL,
    expires_at bigint NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0
  );

  CREATE TABLE email_code_requests (
    email text NOT NULL,
    requested_at bigint NOT NULL
  );
  CREATE INDEX email_code_requests_by_email ON email_code_requests (email, requested_at);

  CREATE TABLE provisions (
    public_key text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id),
    email text NOT NULL,
    misakey_key_share text NOT NULL,
    user_key_share_hash text NOT NULL UNIQUE,
    created_at text NOT NULL,
    revoked_at text
  );
  CREATE UNIQUE INDEX provisions_one_active_per_email
    ON provisions (organization_id, email) WHERE revoked_at IS NULL;
  CREATE INDEX provisions_by_email ON provisions (email);

  CREATE TABLE boxes (
    id text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id),
    title text NOT NULL,
    public_key text NOT NULL,
    data_subject text,
    created_at text NOT NULL
  );

  CREATE TABLE crypto_actions (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    box_id text NOT NULL REFERENCES boxes (id),
    encryption_public_key text NOT NULL,
    encrypted text NOT NULL,
    identity_id text REFERENCES identities (id),
    provision_public_key text REFERENCES provisions (public_key),
    created_at text NOT NULL,
    acknowledged_at text,
    CHECK ((identity_id IS NULL) <> (provision_public_key IS NULL))
  );
  CREATE INDEX crypto_actions_by_identity ON crypto_actions (identity_id, position);
  CREATE INDEX crypto_actions_by_provision ON crypto_actions (provision_public_key, position);
  CREATE INDEX crypto_actions_by_box ON crypto_actions (box_id);

  CREATE TABLE box_members (
    box_id text NOT NULL REFERENCES boxes (id),
    identity_id text NOT NULL REFERENCES identities (id),
    join_event_id text NOT NULL,
    PRIMARY KEY (box_id, identity_id)
  );

  CREATE TABLE box_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    box_id text NOT NULL REFERENCES boxes (id),
    type text NOT NULL CHECK (type IN ('msg.text', 'member.join')),
    content text,
    sender_type text NOT NULL CHECK (sender_type IN ('organization', 'identity')),
    sender_id text NOT NULL,
    created_at text NOT NULL
  );
  CREATE INDEX box_events_by_box ON box_events (box_id, position);

  CREATE TABLE idempotency_keys (
    organization_id text NOT NULL REFERENCES organizations (id),
    key text NOT NULL,
    request_hash bytea NOT NULL,
    response_status integer NOT NULL,
    response_body text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (organization_id, key)
  );
  `,
  // Every keyed box creation deletes the expired keys first; the index keeps that
  // DELETE from scanning the whole table.
  `
  CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
  `,
];
