CREATE TABLE accounts (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name       TEXT,
    prefix     TEXT NOT NULL,
    key_hash   BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE rooms (
    id                         TEXT PRIMARY KEY NOT NULL,
    account_id                 TEXT NOT NULL REFERENCES accounts (id),
    unique_name                TEXT,
    max_participants           INTEGER NOT NULL,
    enable_recording           INTEGER NOT NULL,
    webhook_event_url          TEXT,
    webhook_event_failover_url TEXT,
    webhook_timeout_secs       INTEGER,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
CREATE UNIQUE INDEX rooms_account_unique_name ON rooms (account_id, unique_name) WHERE unique_name IS NOT NULL;
CREATE INDEX rooms_account_created ON rooms (account_id, created_at DESC, id DESC);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    private_key BLOB NOT NULL,
    public_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    activate_at INTEGER NOT NULL,
    retire_at   INTEGER
);
